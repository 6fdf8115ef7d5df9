/**
 * Every mail Rampart sends, each as plain text and HTML. Values are escaped for HTML here (names of orgs and
 * jobs are user input); links are only ever built by the server from its public URL and a random token.
 */

export type SecurityEvent =
  | 'password_changed'
  | 'password_reset'
  | 'email_changed'
  | 'totp_disabled'
  | 'recovery_codes_issued'
  | 'provider_linked'
  | 'provider_unlinked'
  | 'account_deleted';

export type MailTemplate =
  | { kind: 'password_reset'; link: string; minutes: number }
  | { kind: 'email_verification'; link: string; hours: number }
  | {
      kind: 'invitation';
      link: string;
      days: number;
      orgName: string;
      inviter: string;
      role: string;
    }
  | { kind: 'email_change'; link: string; hours: number; newEmail: string }
  | { kind: 'security_notice'; event: SecurityEvent; at: string; detail?: string | undefined }
  | {
      kind: 'job_alert';
      alert: 'job.failed' | 'job.recovered';
      jobName: string;
      body: string;
    }
  | {
      kind: 'incident_notice';
      /** The operator's words (an incident notice): plain text, escaped in the HTML part like everything else. */
      subject: string;
      body: string;
      orgName: string;
      role: 'owner' | 'admin';
    }
  | { kind: 'test'; at: string; node: string };

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Subjects are one header line: no CR/LF, bounded. */
const oneLine = (s: string, max = 120): string => {
  const flat = s.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

interface Parts {
  subject: string;
  /** Paragraphs of plain text. */
  lines: string[];
  action?: { label: string; link: string };
  footer: string;
  /** Keep the lines' own line breaks in the HTML part (an operator's text). */
  pre?: boolean;
}

const IGNORE = 'If you did not ask for this, you can ignore this message.';
const NOT_YOU =
  'If this was not you, reset your password now from the sign-in page and review your account activity.';

function parts(t: MailTemplate): Parts {
  switch (t.kind) {
    case 'password_reset':
      return {
        subject: 'Reset your Rampart password',
        lines: ['Someone asked to reset the password of your Rampart account.'],
        action: { label: 'Choose a new password', link: t.link },
        footer: `The link works once, within ${t.minutes} minutes. ${IGNORE}`,
      };
    case 'email_verification':
      return {
        subject: 'Confirm your e-mail address for Rampart',
        lines: [
          'Confirm that this address is yours to finish setting up your Rampart account. You will be asked to sign in to it.',
          'Until you do, the account cannot join an org or accept an invitation.',
          'Did you not create this account? Someone used your address: do not confirm it. Choose "Forgot password" on the sign-in page to take the account over instead.',
        ],
        action: { label: 'Confirm my address', link: t.link },
        footer: `The link works once, within ${t.hours} hours. ${IGNORE}`,
      };
    case 'invitation':
      return {
        subject: `${oneLine(t.inviter, 80)} invited you to ${oneLine(t.orgName, 80)} on Rampart`,
        lines: [
          `${t.inviter} has invited you to join the org "${t.orgName}" on Rampart as ${t.role}.`,
          'Open the invitation to accept it. If you are new to Rampart you will choose a password; if you already have an account, sign in with it.',
        ],
        action: { label: 'Open the invitation', link: t.link },
        footer: `The invitation works once, within ${t.days} days. If you did not expect it, ignore this message.`,
      };
    case 'email_change':
      return {
        subject: 'Confirm your new e-mail address for Rampart',
        lines: [
          `Someone asked to change the e-mail address of a Rampart account to ${t.newEmail}.`,
          'The change takes effect when you open this link.',
        ],
        action: { label: 'Confirm the new address', link: t.link },
        footer: `The link works once, within ${t.hours} hours. ${IGNORE}`,
      };
    case 'security_notice':
      return { ...notice(t.event, t.detail), footer: `When: ${t.at}. ${NOT_YOU}` };
    case 'job_alert':
      return {
        subject:
          t.alert === 'job.failed'
            ? `[Rampart] Job failing: ${oneLine(t.jobName, 100)}`
            : `[Rampart] Job recovered: ${oneLine(t.jobName, 100)}`,
        lines: t.body.split('\n'),
        footer: 'You receive this because this address is on a Rampart alert channel.',
      };
    case 'incident_notice':
      return {
        subject: t.subject,
        lines: t.body
          .replace(/\r\n?/g, '\n')
          .split(/\n(?:[ \t]*\n)+/)
          .map((l) => l.replace(/^(?:[ \t]*\n)+|\s+$/g, ''))
          .filter((l) => l.length > 0),
        footer: `You receive this notice from the operators of Rampart as ${t.role} of the org "${t.orgName}".`,
        pre: true,
      };
    case 'test':
      return {
        subject: 'Rampart test mail',
        lines: [`This is a test mail from Rampart (${t.node}), sent at ${t.at}.`],
        footer: 'Sent by rampart admin mail test.',
      };
  }
}

function notice(event: SecurityEvent, detail: string | undefined): Omit<Parts, 'footer'> {
  const d = detail ? ` (${detail})` : '';
  switch (event) {
    case 'password_changed':
      return {
        subject: 'Your Rampart password was changed',
        lines: ['The password of your Rampart account was changed. Every other session was signed out.'],
      };
    case 'password_reset':
      return {
        subject: 'Your Rampart password was reset',
        lines: [
          'The password of your Rampart account was reset from an e-mailed link. Every session was signed out.',
        ],
      };
    case 'email_changed':
      return {
        subject: 'The e-mail address of your Rampart account was changed',
        lines: [`The account's e-mail address was changed${d}. Mail now goes to the new address.`],
      };
    case 'totp_disabled':
      return {
        subject: 'Two-factor authentication was turned off',
        lines: ['Two-factor authentication (TOTP) was turned off for your Rampart account.'],
      };
    case 'recovery_codes_issued':
      return {
        subject: 'New Rampart recovery codes were issued',
        lines: ['New recovery codes were issued for your Rampart account. The old ones no longer work.'],
      };
    case 'provider_linked':
      return {
        subject: 'A sign-in provider was linked to your Rampart account',
        lines: [`A sign-in provider${d} was linked to your Rampart account. It can now be used to sign in.`],
      };
    case 'provider_unlinked':
      return {
        subject: 'A sign-in provider was unlinked from your Rampart account',
        lines: [`A sign-in provider${d} was unlinked from your Rampart account.`],
      };
    case 'account_deleted':
      return {
        subject: 'Your Rampart account was deleted',
        lines: [
          'Your Rampart account was deleted, with its memberships, credentials and sessions. This cannot be undone.',
        ],
      };
  }
}

/** Renders a template to a subject, a plain-text body and an HTML body. */
export function renderMail(t: MailTemplate): RenderedMail {
  const p = parts(t);
  const subject = oneLine(p.subject, 200);
  const text = [
    ...p.lines,
    ...(p.action ? [`${p.action.label}:\n${p.action.link}`] : []),
    p.footer,
    '— Rampart',
  ].join('\n\n');
  const style = p.pre ? 'margin:0 0 16px;white-space:pre-wrap' : 'margin:0 0 16px';
  const para = (s: string) => `<p style="${style}">${escapeHtml(s)}</p>`;
  const button = p.action
    ? `<p style="margin:0 0 16px"><a href="${escapeHtml(p.action.link)}" style="display:inline-block;padding:10px 16px;background:#1f4fd1;color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(p.action.label)}</a></p>` +
      `<p style="margin:0 0 16px;font-size:12px;color:#555">Or copy this address into your browser: ${escapeHtml(p.action.link)}</p>`
    : '';
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><meta name="color-scheme" content="light"></head>' +
    '<body style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:15px;line-height:1.5;color:#111;max-width:560px;margin:24px auto;padding:0 16px">' +
    p.lines.map(para).join('') +
    button +
    `<p style="margin:24px 0 0;font-size:12px;color:#555">${escapeHtml(p.footer)}</p>` +
    '</body></html>';
  return { subject, text, html };
}
