// Server-side evidence for the interop suite: reads the emulator's login
// history through its admin API and checks that the clients' logins and
// refusals really happened at the emulator's token endpoint (a refusal that
// came from a network error would not show up here).
//
// Usage: node check-logins.mjs BASE_URL ADMIN_TOKEN EXPECTATIONS_JSON
// EXPECTATIONS_JSON: {
//   "success": [{"username": "...", "userAgent": "undici"}, ...],  // at least one Success each
//   "failed":  ["username", ...],                                  // at least one Failed each
//   "never":   ["username", ...]                                   // no Success at all
// }
// Prints "ok: ..." lines; on the first unmet expectation prints "FAILED: ..." and exits 1.

const [base, token, expectJSON] = process.argv.slice(2);
const expect = JSON.parse(expectJSON);

function fail(msg) {
  console.log(`FAILED: ${msg}`);
  process.exit(1);
}

async function main() {
  // The admin API must refuse a caller without its token.
  const anon = await fetch(`${base}/_emulator/logins?limit=1`, { signal: AbortSignal.timeout(10000) });
  await anon.text();
  if (anon.status !== 401 && anon.status !== 403) fail(`admin API without token answered ${anon.status}, want 401 or 403`);
  console.log(`ok: admin API without its token is refused (${anon.status})`);

  const resp = await fetch(`${base}/_emulator/logins?limit=1000`, {
    headers: { 'X-Emulator-Admin-Token': token },
    signal: AbortSignal.timeout(10000),
  });
  const body = await resp.text();
  if (resp.status !== 200) fail(`GET /_emulator/logins answered ${resp.status}: ${body.slice(0, 300)}`);
  const logins = JSON.parse(body);
  if (!Array.isArray(logins)) fail(`login history is not a list: ${body.slice(0, 300)}`);
  console.log(`ok: ${logins.length} entries in the login history`);
  for (const e of logins) console.log(`    ${e.status} ${e.username || '-'} (${e.user_agent || '-'})`);

  const ok = (e) => e.status === 'Success';
  for (const want of expect.success || []) {
    const hit = logins.find((e) => ok(e) && e.username === want.username && (e.user_agent || '').includes(want.userAgent));
    if (!hit) fail(`no successful login for ${want.username} from a "${want.userAgent}" client`);
    console.log(`ok: ${want.username} logged in from ${hit.user_agent}`);
  }
  for (const username of expect.failed || []) {
    const hit = logins.find((e) => e.username === username && String(e.status).startsWith('Failed'));
    if (!hit) fail(`no failed login recorded for ${username}`);
    console.log(`ok: ${username}: ${hit.status}`);
  }
  for (const username of expect.never || []) {
    const hit = logins.find((e) => ok(e) && e.username === username);
    if (hit) fail(`${username} must never log in, but did from ${hit.user_agent}`);
    console.log(`ok: ${username} never logged in`);
  }
}

main().catch((err) => fail(err && err.message ? err.message : String(err)));
