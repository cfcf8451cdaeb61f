/**
 * The dashboard's HTML shells and stylesheet. The pages hold no data: app.js fetches it and
 * renders every key and value with `textContent`, so nothing from the store is ever parsed as HTML.
 */

/** Escapes text for an HTML attribute or text node (only the mount path is ever put in). */
function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

function head(base: string, title: string): string {
  const b = escapeHtml(base);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${b}/assets/uplot.css">
<link rel="stylesheet" href="${b}/assets/app.css">
</head>`;
}

/** The login form (shown when a token is set and the request has none). */
export function loginPage(base: string, message = ''): string {
  const b = escapeHtml(base);
  return `${head(base, 'skycache · sign in')}
<body class="login">
<form method="post" action="${b}/login" class="card">
<h1>skycache</h1>
<label>Token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button type="submit">Sign in</button>
<p class="error">${escapeHtml(message)}</p>
</form>
</body>
</html>`;
}

/** The dashboard page. */
export function mainPage(base: string, readOnly: boolean): string {
  const b = escapeHtml(base);
  return `${head(base, 'skycache dashboard')}
<body data-base="${b}" data-read-only="${readOnly}"${readOnly ? ' class="read-only"' : ''}>
<header><h1>skycache</h1><span id="status" role="status"></span></header>
<main>
<section class="card">
<h2>Caches</h2>
<table id="caches"><thead><tr>
<th>Alias</th><th>Backend</th><th>Location</th><th>Prefix</th><th>Version</th><th>Breaker</th>
<th>Hits</th><th>Misses</th><th>Hit rate</th></tr></thead><tbody></tbody></table>
<h3>Hit rate over the last minutes</h3>
<div id="chart" data-points="0"></div>
</section>
<section class="card">
<h2>Keys</h2>
<form id="search" class="row">
<label>Cache <select id="cache" name="cache"></select></label>
<label>Pattern <input id="pattern" name="pattern" value="*" spellcheck="false"></label>
<button type="submit">Search</button>
</form>
<table id="keys"><thead><tr><th>Key</th><th>TTL (s)</th><th>Size (B)</th></tr></thead><tbody></tbody></table>
<div class="row"><button id="prev" type="button">Previous</button><span id="page"></span>
<button id="next" type="button">Next</button></div>
<div id="entry" hidden>
<h3>Entry</h3>
<dl id="entry-facts"></dl>
<pre id="entry-value"></pre>
<button id="delete-key" type="button" class="danger change">Delete this key</button>
</div>
</section>
<section class="card change">
<h2>Delete</h2>
<form id="delete-pattern" class="row">
<label>Pattern <input id="delete-pattern-input" name="pattern" spellcheck="false" required></label>
<button type="submit">Count matches</button>
<span id="delete-pattern-count"></span>
<button id="delete-pattern-confirm" type="button" class="danger" hidden>Delete them</button>
</form>
<form id="delete-tag" class="row">
<label>Tags <input id="delete-tag-input" name="tags" placeholder="tag1, tag2" spellcheck="false" required></label>
<button type="submit" class="danger">Invalidate tags</button>
</form>
</section>
</main>
<script src="${b}/assets/uplot.js"></script>
<script src="${b}/assets/app.js"></script>
</body>
</html>`;
}

export const STYLESHEET = `
:root { color-scheme: light dark; --accent: #2563eb; --danger: #dc2626; --line: #8884; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; }
header { display: flex; align-items: baseline; gap: 1rem; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
main { display: grid; gap: 1rem; padding: 1rem 1.25rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.key { font-family: ui-monospace, monospace; word-break: break-all; cursor: pointer; color: var(--accent); }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin: .5rem 0; }
input, select, button { font: inherit; padding: .25rem .5rem; }
button.danger { color: #fff; background: var(--danger); border: 0; border-radius: 4px; }
pre { background: #8881; padding: .75rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
.state-open { color: var(--danger); font-weight: 600; } .state-half-open { color: #d97706; }
.read-only .change { display: none; }
body.login { display: grid; place-items: center; min-height: 100vh; }
.login form { display: grid; gap: .75rem; min-width: 18rem; }
.error { color: var(--danger); min-height: 1em; }
`;
