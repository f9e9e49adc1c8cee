// The one place problems are shown: a heading, what to do, the fields to fix, and a live countdown when the backend
// says how long to wait (Retry-After). It is an ARIA alert, so screen readers announce it.
import { explain } from './problems.js';
import { formatWait } from './format.js';

export class Notice {
  constructor(root) {
    this.root = root;
    this.heading = root.querySelector('.notice-heading');
    this.detail = root.querySelector('.notice-detail');
    this.fields = root.querySelector('.notice-fields');
    this.wait = root.querySelector('.notice-wait');
    this.timer = null;
    root.querySelector('.notice-dismiss').addEventListener('click', () => this.hide());
  }

  /** Explains an error; returns the explanation so the caller can also mark the failed message or field. */
  show(error) {
    const explanation = explain(error);
    this.showText(explanation.heading, explanation.detail);
    this.fields.replaceChildren(...explanation.fields.map(({ name, message }) => {
      const item = document.createElement('li');
      const field = document.createElement('code');
      field.textContent = name;
      item.append(field, document.createTextNode(`: ${message}`));
      return item;
    }));
    this.fields.hidden = explanation.fields.length === 0;
    this.countdown(explanation.retryAfterSeconds);
    return explanation;
  }

  showText(heading, detail) {
    this.heading.textContent = heading;
    this.detail.textContent = detail;
    this.fields.replaceChildren();
    this.fields.hidden = true;
    this.countdown(null);
    this.root.hidden = false;
  }

  hide() {
    this.countdown(null);
    this.root.hidden = true;
  }

  countdown(seconds) {
    clearInterval(this.timer);
    this.wait.hidden = seconds == null;
    if (seconds == null) return;
    const until = Date.now() + seconds * 1000;
    const tick = () => {
      const left = (until - Date.now()) / 1000;
      this.wait.textContent = left > 0 ? `You can try again in ${formatWait(left)}.` : 'You can try again now.';
      if (left <= 0) clearInterval(this.timer);
    };
    tick();
    this.timer = setInterval(tick, 1000);
  }
}
