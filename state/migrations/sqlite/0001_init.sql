-- sfbridge state, schema version 1 (SQLite). Times are Unix milliseconds.
CREATE TABLE checkpoints (
    org        TEXT    NOT NULL,
    pipeline   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    version    INTEGER NOT NULL,
    token      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org, pipeline, key)
);

CREATE TABLE documents (
    org        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    TEXT    NOT NULL DEFAULT '',
    lang       TEXT    NOT NULL DEFAULT '',
    title      TEXT    NOT NULL DEFAULT '',
    body       TEXT    NOT NULL DEFAULT '',
    data       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (org, kind, id)
);

CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, body,
    content = 'documents', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;

CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, body ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO documents_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

CREATE TABLE seen (
    org        TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (org, scope, id)
);
CREATE INDEX seen_expiry ON seen (expires_at);

CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    org        TEXT    NOT NULL,
    topic      TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_topic ON outbox (org, topic, seq);

CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    token      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE secrets (
    org         TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    wrapped_key BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    fingerprint TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org, kind)
);
