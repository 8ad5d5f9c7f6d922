// Drives the unmodified jsforce library against the sfbridge emulator for the
// interop suite.
//
// jsforce has no JWT signer of its own: like a real integration, this script
// signs the RS256 assertion with node:crypto and hands it to
// conn.authorize({grant_type: jwt-bearer, assertion}). Then, per mode:
//   login  conn.identity()
//   probe  a Case query (and the resource map, for the log), to tell whether
//          the emulator serves the data API
//   data   sobject('Case').create, query, describe, retrieve
//   readonly  as a user with read-only access to Case: query and describe
//          work, create is refused
// It prints one JSON object on stdout; failures go to stderr with exit status 1.
//
// Usage: node driver.mjs MODE
// Environment: JSFORCE_DIR (the npm --prefix jsforce was installed into),
// INTEROP_LOGIN_URL, INTEROP_CLIENT_ID, INTEROP_USERNAME, INTEROP_KEY_FILE,
// INTEROP_SUBJECT (data mode).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const API_VERSION = '62.0';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required`);
  return v;
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// assertion builds the JWT bearer assertion the way Salesforce documents it:
// iss = consumer key, sub = username, aud = login URL, exp in seconds.
function assertion({ clientId, username, audience, keyPem }) {
  const header = { alg: 'RS256', typ: 'JWT' };
  const claims = {
    iss: clientId,
    sub: username,
    aud: audience,
    exp: Math.floor(Date.now() / 1000) + 180,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('RSA-SHA256', Buffer.from(input), crypto.createPrivateKey(keyPem));
  return `${input}.${b64url(sig)}`;
}

async function login() {
  const require = createRequire(path.join(env('JSFORCE_DIR'), 'package.json'));
  const jsforce = require('jsforce');
  const loginUrl = env('INTEROP_LOGIN_URL');
  const conn = new jsforce.Connection({ loginUrl, version: API_VERSION });
  const userInfo = await conn.authorize({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: assertion({
      clientId: env('INTEROP_CLIENT_ID'),
      username: env('INTEROP_USERNAME'),
      audience: loginUrl,
      keyPem: fs.readFileSync(env('INTEROP_KEY_FILE'), 'utf8'),
    }),
  });
  return { conn, userInfo };
}

async function main() {
  const mode = process.argv[2] || 'login';
  const { conn, userInfo } = await login();
  const out = {
    instance_url: conn.instanceUrl,
    has_token: Boolean(conn.accessToken),
    authorize: { id: userInfo.id, organizationId: userInfo.organizationId },
  };
  switch (mode) {
    case 'login': {
      const id = await conn.identity();
      out.identity = {
        username: id.username,
        user_id: id.user_id,
        organization_id: id.organization_id,
        active: id.active,
      };
      break;
    }
    case 'probe': {
      // Does the emulator claim the data API (resource map) and does it answer a query?
      const map = await conn.request(`/services/data/v${API_VERSION}/`);
      out.resources = Object.keys(map || {});
      try {
        const r = await conn.query('SELECT Id FROM Case LIMIT 1');
        out.query = { ok: true, totalSize: r.totalSize };
      } catch (err) {
        const code = String(err && (err.errorCode || err.name));
        // Only "not found" means the emulator has no data API at all.
        out.query = { ok: false, absent: code === 'NOT_FOUND' || code === 'ERROR_HTTP_404', error: code, message: String(err && err.message) };
      }
      break;
    }
    case 'data': {
      const subject = env('INTEROP_SUBJECT');
      const created = await conn.sobject('Case').create({ Subject: subject });
      out.created = created;
      if (!created.success || !created.id) throw new Error(`create Case failed: ${JSON.stringify(created)}`);
      const soql = `SELECT Id, Subject FROM Case WHERE Subject = '${subject.replace(/'/g, "\\'")}'`;
      const q = await conn.query(soql);
      out.query = { totalSize: q.totalSize, done: q.done, records: q.records.map((r) => ({ Id: r.Id, Subject: r.Subject, type: r.attributes && r.attributes.type })) };
      const d = await conn.sobject('Case').describe();
      out.describe = { name: d.name, createable: d.createable, fields: d.fields.map((f) => f.name) };
      const rec = await conn.sobject('Case').retrieve(created.id);
      out.retrieve = { Id: rec.Id, Subject: rec.Subject, type: rec.attributes && rec.attributes.type };
      break;
    }
    case 'readonly': {
      // A user who may read but not create Cases: the query works, describe
      // says createable:false, and create is refused with a Salesforce error.
      const q = await conn.query('SELECT Id FROM Case LIMIT 1');
      out.query = { ok: true, totalSize: q.totalSize };
      const d = await conn.sobject('Case').describe();
      out.describe = { name: d.name, queryable: d.queryable, createable: d.createable };
      try {
        const created = await conn.sobject('Case').create({ Subject: env('INTEROP_SUBJECT') });
        out.create = { refused: false, result: created };
      } catch (err) {
        out.create = { refused: true, errorCode: err.errorCode || err.name, message: err.message };
      }
      break;
    }
    case 'elf': {
      // List event log files, then download the newest Login file through
      // jsforce's sObject blob API and count its bytes.
      const q = await conn.query(
        "SELECT Id, EventType, Interval, Sequence, LogFile, LogFileLength, LogFileFieldNames, CreatedDate FROM EventLogFile " +
          "WHERE EventType = 'Login' AND Interval = 'Hourly' AND CreatedDate > 2000-01-01T00:00:00+0000 ORDER BY CreatedDate DESC, Id DESC LIMIT 3",
      );
      out.query = { totalSize: q.totalSize, records: q.records.map((r) => ({ Id: r.Id, LogFile: r.LogFile, LogFileLength: r.LogFileLength, Sequence: r.Sequence })) };
      const rec = q.records[0];
      if (!rec) throw new Error('no EventLogFile rows');
      const chunks = [];
      await new Promise((resolve, reject) => {
        const stream = conn.sobject('EventLogFile').record(rec.Id).blob('LogFile');
        stream.on('data', (c) => chunks.push(Buffer.from(c)));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const body = Buffer.concat(chunks);
      const header = body.toString('utf8', 0, Math.min(body.length, 4000)).split('\n')[0];
      out.blob = { bytes: body.length, header, fieldNames: rec.LogFileFieldNames };
      break;
    }
    default:
      throw new Error(`unknown mode ${mode} (want login, probe, data, readonly or elf)`);
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err) => {
  // jsforce puts the OAuth error (e.g. invalid_grant) in err.name and the
  // API error code (e.g. INVALID_SESSION_ID) in err.errorCode.
  const code = [err && err.name, err && err.errorCode].filter((c) => c && c !== 'Error').join(' ');
  process.stderr.write(`jsforce-driver: ${code ? `${code}: ` : ''}${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
