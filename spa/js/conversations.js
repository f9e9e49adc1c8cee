// The caller's conversations kept on the server (/api/conversations): the list, newest activity first, a page at a
// time; starting one; reading one's messages (oldest first, following `next`); and deleting one after a confirmation
// in a modal <dialog> (Escape or Cancel keeps it). Titles are set as text, never as HTML, like every message.
import { formatTime } from './format.js';
import { explain } from './problems.js';

const PageSize = 20;
const MessagesPerPage = 100;

/** What the list calls a conversation whose first turn has not been answered yet (the backend titles it then). */
export const Untitled = 'New conversation (no messages yet)';

export const titleOf = conversation => conversation.title ?? Untitled;

export class ConversationsPanel {
  /**
   * @param {import('./api.js').Api} api
   * @param {{list: HTMLUListElement, status: HTMLElement, more: HTMLButtonElement, dialog: HTMLDialogElement}} elements
   * @param {{onOpen: (conversation: object) => void, onDelete: (conversation: object, opener: HTMLElement) => void}} actions
   */
  constructor(api, { list, status, more, dialog }, actions) {
    this.api = api;
    this.list = list;
    this.status = status;
    this.more = more;
    this.dialog = dialog;
    this.actions = actions;
    this.conversations = [];
    this.next = null;
    this.currentId = null;
    this.busy = false;
    more.addEventListener('click', () => this.load(this.next));
    for (const button of dialog.querySelectorAll('button[value]')) {
      button.addEventListener('click', () => dialog.close(button.value));
    }
  }

  /** The first page again (after a turn, a delete, another caller); a failure is said in the panel. */
  refresh() {
    return this.load(null);
  }

  async load(nextUrl) {
    try {
      const { body } = await this.api.send('GET', nextUrl ?? `/api/conversations?limit=${PageSize}`);
      this.conversations = nextUrl ? [...this.conversations, ...body.conversations] : body.conversations;
      this.next = body.next ?? null;
      this.render();
    } catch (error) {
      this.status.textContent = `The conversations did not load: ${explain(error).heading}.`;
      this.status.hidden = false;
    }
  }

  /** @returns {Promise<object>} the new, empty conversation (the backend's defaults: model, no system prompt). */
  async create() {
    const { body } = await this.api.send('POST', '/api/conversations', {});
    this.conversations = [body, ...this.conversations];
    this.select(body.id);
    return body;
  }

  /** @returns {Promise<{conversation: object, messages: {role: string, content: string}[]}>} */
  async read(id) {
    const path = `/api/conversations/${encodeURIComponent(id)}`;
    let { body: conversation } = await this.api.send('GET', `${path}?limit=${MessagesPerPage}`);
    const messages = [...conversation.messages];
    while (conversation.next) {
      ({ body: conversation } = await this.api.send('GET', conversation.next));
      messages.push(...conversation.messages);
    }
    return { conversation, messages };
  }

  async remove(id) {
    await this.api.send('DELETE', `/api/conversations/${encodeURIComponent(id)}`);
    this.conversations = this.conversations.filter(conversation => conversation.id !== id);
    if (this.currentId === id) this.currentId = null;
    this.render();
  }

  /** Asks first; resolves true only when the person chose Delete. Focus goes back to what opened the dialog. */
  confirmDelete(conversation) {
    this.dialog.querySelector('.confirm-title').textContent = titleOf(conversation);
    this.dialog.returnValue = '';
    this.dialog.showModal();
    this.dialog.querySelector('button[value=cancel]').focus(); // the safe choice first
    return new Promise(resolve => this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue === 'delete'), { once: true }));
  }

  /** Marks the conversation the page continues (null: a chat kept in the page only). */
  select(id) {
    this.currentId = id;
    this.render();
  }

  find(id) {
    return this.conversations.find(conversation => conversation.id === id) ?? null;
  }

  /** While an answer is being written, the list cannot switch conversations under it. */
  setBusy(on) {
    this.busy = on;
    for (const button of this.list.querySelectorAll('button')) button.disabled = on;
  }

  /** The first conversation's button, or null when there is none: where focus goes after a delete. */
  firstButton() {
    return this.list.querySelector('.conversation-open');
  }

  render() {
    this.list.replaceChildren(...this.conversations.map(conversation => this.item(conversation)));
    this.status.textContent = this.conversations.length === 0 ? 'No saved conversations yet.' : '';
    this.status.hidden = this.conversations.length > 0;
    this.more.hidden = !this.next;
  }

  item(conversation) {
    const item = element('li', 'conversation');
    const open = element('button', 'conversation-open');
    open.type = 'button';
    const updated = `Updated ${formatTime(new Date(conversation.lastActivityAt))} · ${conversation.messageCount} messages`;
    open.append(element('span', 'conversation-title', titleOf(conversation)), element('span', 'conversation-when', updated));
    if (conversation.id === this.currentId) open.setAttribute('aria-current', 'true');
    open.addEventListener('click', () => this.actions.onOpen(conversation));

    const remove = element('button', 'conversation-delete', 'Delete');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Delete “${titleOf(conversation)}”`);
    remove.addEventListener('click', () => this.actions.onDelete(conversation, remove));
    open.disabled = remove.disabled = this.busy;
    item.append(open, remove);
    return item;
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
