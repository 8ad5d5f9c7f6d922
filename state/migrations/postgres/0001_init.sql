-- sfbridge state, schema version 1 (PostgreSQL). Times are Unix milliseconds.
CREATE TABLE checkpoints (
    org        text   NOT NULL,
    pipeline   text   NOT NULL,
    key        text   NOT NULL,
    value      bytea  NOT NULL,
    version    bigint NOT NULL,
    token      bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (org, pipeline, key)
);

CREATE TABLE documents (
    org        text      NOT NULL,
    kind       text      NOT NULL,
    id         text      NOT NULL,
    version    text      NOT NULL DEFAULT '',
    lang       text      NOT NULL DEFAULT '',
    title      text      NOT NULL DEFAULT '',
    body       text      NOT NULL DEFAULT '',
    data       bytea     NOT NULL,
    updated_at bigint    NOT NULL,
    ts_config  regconfig NOT NULL,
    tsv        tsvector  NOT NULL,
    PRIMARY KEY (org, kind, id)
);
CREATE INDEX documents_tsv ON documents USING gin (tsv);

CREATE TABLE seen (
    org        text   NOT NULL,
    scope      text   NOT NULL,
    id         text   NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (org, scope, id)
);
CREATE INDEX seen_expiry ON seen (expires_at);

CREATE TABLE outbox (
    seq        bigserial PRIMARY KEY,
    org        text   NOT NULL,
    topic      text   NOT NULL,
    payload    bytea  NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX outbox_topic ON outbox (org, topic, seq);

CREATE TABLE leases (
    name       text   PRIMARY KEY,
    owner      text   NOT NULL,
    token      bigint NOT NULL,
    expires_at bigint NOT NULL
);

CREATE TABLE secrets (
    org         text   NOT NULL,
    kind        text   NOT NULL,
    key_id      text   NOT NULL,
    wrapped_key bytea  NOT NULL,
    ciphertext  bytea  NOT NULL,
    fingerprint text   NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (org, kind)
);
