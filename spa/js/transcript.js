// The list of messages. Everything a person or the model wrote is set with textContent, never as HTML: a reply that
// contains <script> or markup is shown as those characters and cannot run or restyle the page.

const roleNames = { user: 'You', assistant: 'Assistant' };

export class Transcript {
  constructor(list, empty) {
    this.list = list;
    this.empty = empty;
  }

  clear() {
    this.list.replaceChildren();
    this.empty.hidden = false;
  }

  /** @returns {MessageView} */
  add(role, text = '') {
    this.empty.hidden = true;
    const item = element('li', `message ${role}`);
    const view = new MessageView(item, role);
    view.setText(text);
    this.list.append(item);
    item.scrollIntoView({ block: 'end' });
    return view;
  }
}

export class MessageView {
  constructor(item, role) {
    this.item = item;
    item.append(element('p', 'role', roleNames[role] ?? role));
    this.status = element('p', 'status');
    this.status.hidden = true;
    this.text = element('p', 'text');
    this.meta = element('p', 'meta');
    this.meta.hidden = true;
    item.append(this.status, this.text, this.meta);
  }

  setText(text) {
    this.text.textContent = text;
  }

  appendText(text) {
    this.text.textContent += text;
  }

  /** A line of status history: "Queued → Running → Succeeded". */
  setStatus(text) {
    this.status.hidden = !text;
    this.status.textContent = text ?? '';
  }

  /** @param {string[]} parts shown as badges, e.g. the model, tokens, cost, "From cache". */
  setMeta(parts, { cached = false } = {}) {
    this.meta.replaceChildren(...parts.map(part => element('span', 'badge', part)));
    if (cached) this.meta.prepend(element('span', 'badge cache', 'From cache'));
    this.meta.hidden = false;
    this.item.classList.toggle('cached', cached);
  }

  fail(heading, detail) {
    this.item.classList.add('failed');
    this.text.replaceChildren(element('strong', '', heading), document.createTextNode(detail ? ` ${detail}` : ''));
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
