"""Append-only, numbered schema migrations.

Never edit or reorder a migration that has shipped: add a new one at the end. Each runs in its
own transaction and is recorded in ``_migrations``; every connect brings an older file forward.
"""

from __future__ import annotations

from typing import Callable

import duckdb


def m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE SEQUENCE project_ids START 1;
        CREATE TABLE projects (
            id          BIGINT PRIMARY KEY DEFAULT nextval('project_ids'),
            name        VARCHAR NOT NULL UNIQUE,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            teacher     VARCHAR NOT NULL,
            student     VARCHAR NOT NULL,
            taxonomy    JSON,          -- task_types, difficulty, personas, name, description
            settings    JSON           -- sampling parameters and per-project overrides
        );

        CREATE TABLE taxonomy_nodes (
            project_id   BIGINT NOT NULL,
            path         VARCHAR NOT NULL,   -- 'Science > Physics > Optics' (taxonomy.SEP)
            parent_path  VARCHAR,
            name         VARCHAR NOT NULL,
            description  VARCHAR,
            weight       DOUBLE NOT NULL DEFAULT 1.0,
            position     INTEGER NOT NULL,
            PRIMARY KEY (project_id, path)
        );

        CREATE SEQUENCE job_ids START 1;
        CREATE TABLE jobs (
            id               BIGINT PRIMARY KEY DEFAULT nextval('job_ids'),
            project_id       BIGINT,
            kind             VARCHAR NOT NULL,
            params           JSON NOT NULL,
            status           VARCHAR NOT NULL,  -- queued running done failed cancelled interrupted
            total            INTEGER NOT NULL DEFAULT 0,
            done             INTEGER NOT NULL DEFAULT 0,
            failed           INTEGER NOT NULL DEFAULT 0,
            tokens           BIGINT NOT NULL DEFAULT 0,
            busy_s           DOUBLE NOT NULL DEFAULT 0,  -- seconds spent producing tokens
            pid              INTEGER,
            pid_started      DOUBLE,                     -- process create time, guards pid reuse
            heartbeat_at     TIMESTAMP,
            created_at       TIMESTAMP NOT NULL DEFAULT current_timestamp,
            started_at       TIMESTAMP,
            finished_at      TIMESTAMP,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            error            VARCHAR,
            log_path         VARCHAR
        );

        CREATE TABLE job_items (
            job_id      BIGINT NOT NULL,
            key         VARCHAR NOT NULL,     -- stable across resumes
            position    INTEGER NOT NULL,
            payload     JSON NOT NULL,        -- what to generate (node, task type, seed, ...)
            status      VARCHAR NOT NULL DEFAULT 'pending',  -- pending done failed
            attempts    INTEGER NOT NULL DEFAULT 0,
            error       VARCHAR,
            raw         VARCHAR,              -- raw teacher text of a failure
            sample_id   BIGINT,
            updated_at  TIMESTAMP,
            PRIMARY KEY (job_id, key)
        );

        CREATE SEQUENCE sample_ids START 1;
        CREATE TABLE samples (
            id                  BIGINT PRIMARY KEY DEFAULT nextval('sample_ids'),
            project_id          BIGINT NOT NULL,
            created_at          TIMESTAMP NOT NULL DEFAULT current_timestamp,
            mode                VARCHAR NOT NULL,   -- taxonomy seeded regenerate grounded evolve import
            node_path           VARCHAR,
            task_type           VARCHAR,
            difficulty          VARCHAR,
            persona             VARCHAR,
            instruction         VARCHAR NOT NULL,
            response            VARCHAR NOT NULL,
            context             VARCHAR,
            reasoning           VARCHAR,            -- a reasoning model's <think> text, kept apart
            messages            JSON NOT NULL,      -- chat form, as TRL expects
            teacher             VARCHAR,            -- answer teacher spec
            instruction_teacher VARCHAR,
            template            VARCHAR,            -- 'name@version' of every template used
            params              JSON,
            seed                BIGINT,
            raw                 JSON,               -- raw teacher outputs, per step
            job_id              BIGINT,
            item_key            VARCHAR,
            source              VARCHAR,            -- imported file, when imported
            parent_id           BIGINT,             -- evolved-from sample
            status              VARCHAR NOT NULL DEFAULT 'pending'  -- derived from review_events
        );
        CREATE INDEX samples_project ON samples(project_id);

        CREATE TABLE scores (
            sample_id      BIGINT NOT NULL,
            scorer         VARCHAR NOT NULL,
            scorer_version VARCHAR NOT NULL,
            metric         VARCHAR NOT NULL,
            value          DOUBLE,              -- NULL when the scorer failed
            details        JSON,
            created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (sample_id, scorer, metric)
        );

        CREATE TABLE flags (
            sample_id  BIGINT NOT NULL,
            flag       VARCHAR NOT NULL,
            scorer     VARCHAR NOT NULL,
            details    JSON,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (sample_id, flag)
        );

        CREATE SEQUENCE review_event_ids START 1;
        CREATE TABLE review_events (     -- append-only: never updated, never deleted
            id          BIGINT PRIMARY KEY DEFAULT nextval('review_event_ids'),
            project_id  BIGINT NOT NULL,
            sample_id   BIGINT NOT NULL,
            reviewer    VARCHAR NOT NULL,
            action      VARCHAR NOT NULL,    -- approve reject edit undo
            reason      VARCHAR,
            before      JSON,
            after       JSON,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        CREATE SEQUENCE dataset_version_ids START 1;
        CREATE TABLE dataset_versions (
            id          BIGINT PRIMARY KEY DEFAULT nextval('dataset_version_ids'),
            project_id  BIGINT NOT NULL,
            name        VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            train_ids   JSON NOT NULL,
            eval_ids    JSON NOT NULL,
            lineage     JSON,
            UNIQUE (project_id, name)
        );

        CREATE SEQUENCE training_run_ids START 1;
        CREATE TABLE training_runs (
            id          BIGINT PRIMARY KEY DEFAULT nextval('training_run_ids'),
            project_id  BIGINT NOT NULL,
            version_id  BIGINT NOT NULL,
            job_id      BIGINT,
            base_model  VARCHAR NOT NULL,
            method      VARCHAR NOT NULL,
            config      JSON NOT NULL,
            status      VARCHAR NOT NULL,
            metrics     JSON,
            run_dir     VARCHAR,
            device      JSON,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        CREATE TABLE teacher_cache (
            key         VARCHAR PRIMARY KEY,  -- sha256 of canonical (model, messages, params, seed)
            model       VARCHAR NOT NULL,
            completion  JSON NOT NULL,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );

        CREATE SEQUENCE import_ids START 1;
        CREATE TABLE imports (
            id          BIGINT PRIMARY KEY DEFAULT nextval('import_ids'),
            project_id  BIGINT NOT NULL,
            kind        VARCHAR NOT NULL,     -- samples seeds prompts documents evalset
            path        VARCHAR NOT NULL,
            rows        INTEGER NOT NULL,
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        """
    )


def m002_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Imported material that is not a sample: seeds, prompts (later documents, eval sets)."""
    con.execute(
        """
        CREATE SEQUENCE input_ids START 1;
        CREATE TABLE inputs (
            id          BIGINT PRIMARY KEY DEFAULT nextval('input_ids'),
            project_id  BIGINT NOT NULL,
            kind        VARCHAR NOT NULL,     -- seed prompt
            import_id   BIGINT,
            data        JSON NOT NULL,        -- seed: instruction/response/context; prompt: messages
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX inputs_project_kind ON inputs(project_id, kind);
        """
    )


def m003_job_result(con: duckdb.DuckDBPyConnection) -> None:
    """A job's final answer (a probe's latency, later evaluation figures)."""
    con.execute("ALTER TABLE jobs ADD COLUMN result JSON")


def m004_prompt_overrides(con: duckdb.DuckDBPyConnection) -> None:
    """A project's own wording of a prompt template; append-only, so every version stays readable."""
    con.execute(
        """
        CREATE TABLE prompt_overrides (
            project_id  BIGINT NOT NULL,
            template    VARCHAR NOT NULL,     -- 'mode/step', e.g. 'taxonomy/instruction'
            version     INTEGER NOT NULL,     -- 1, 2, ... per project and template
            source      VARCHAR,              -- Jinja text; NULL = back to the built-in template
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (project_id, template, version)
        );
        """
    )


def m005_review_and_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Review lookups by sample and reviewer; a version's rows copied in full, so later edits and
    reviews never change a frozen version."""
    con.execute(
        """
        CREATE INDEX review_events_sample ON review_events(project_id, sample_id);
        CREATE INDEX review_events_reviewer ON review_events(project_id, reviewer);
        CREATE TABLE dataset_version_rows (
            version_id  BIGINT NOT NULL,
            split       VARCHAR NOT NULL,     -- train eval
            position    INTEGER NOT NULL,
            sample_id   BIGINT,               -- NULL for rows mixed in from a general dataset
            origin      VARCHAR NOT NULL,     -- project mix
            node_path   VARCHAR,
            messages    JSON NOT NULL,        -- the text as it was when frozen
            row_hash    VARCHAR NOT NULL,     -- sha256 of the canonical messages
            PRIMARY KEY (version_id, split, position)
        );
        """
    )


def m006_quality_and_map(con: duckdb.DuckDBPyConnection) -> None:
    """Embeddings (computed once per sample text and model), the map's 2-D coordinates and
    clusters, diversity figures over time, and the text a score was computed from (so a re-run
    scores only what is new or changed)."""
    con.execute(
        """
        ALTER TABLE scores ADD COLUMN input_hash VARCHAR;
        CREATE TABLE embeddings (
            sample_id   BIGINT NOT NULL,
            model       VARCHAR NOT NULL,
            text_hash   VARCHAR NOT NULL,
            vector      FLOAT[] NOT NULL,
            PRIMARY KEY (sample_id, model)
        );
        CREATE TABLE map_points (
            project_id  BIGINT NOT NULL,
            sample_id   BIGINT NOT NULL,
            x           DOUBLE NOT NULL,
            y           DOUBLE NOT NULL,
            cluster     INTEGER,
            PRIMARY KEY (project_id, sample_id)
        );
        CREATE SEQUENCE diversity_ids START 1;
        CREATE TABLE diversity_metrics (
            id          BIGINT PRIMARY KEY DEFAULT nextval('diversity_ids'),
            project_id  BIGINT NOT NULL,
            version_id  BIGINT,             -- NULL: the whole project at that time
            created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            metrics     JSON NOT NULL
        );
        """
    )


def m007_project_members(con: duckdb.DuckDBPyConnection) -> None:
    # Who may do what in a project (lumina.access): owner > curator > viewer. The CLI acts as
    # owner and is not listed; signed-in web users are, by the name their login gives.
    con.execute(
        """
        CREATE TABLE project_members (
            project_id  BIGINT NOT NULL,
            member      VARCHAR NOT NULL,      -- the login's e-mail (or trusted-header value)
            role        VARCHAR NOT NULL,      -- owner | curator | viewer
            granted_by  VARCHAR,
            granted_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (project_id, member)
        );
        """
    )


# The order is the schema's history. Append only.
MIGRATIONS: list[tuple[int, str, Callable[[duckdb.DuckDBPyConnection], None]]] = [
    (1, "initial", m001_initial),
    (2, "inputs", m002_inputs),
    (3, "job_result", m003_job_result),
    (4, "prompt_overrides", m004_prompt_overrides),
    (5, "review_and_versions", m005_review_and_versions),
    (6, "quality_and_map", m006_quality_and_map),
    (7, "project_members", m007_project_members),
]


def m008_review_leases(con: duckdb.DuckDBPyConnection) -> None:
    # The queue head a reviewer is looking at is theirs for a short while, so two reviewers are
    # not shown (and do not both decide) the same sample. One row per leased sample.
    con.execute(
        """
        CREATE TABLE review_leases (
            sample_id   BIGINT PRIMARY KEY,
            project_id  BIGINT NOT NULL,
            reviewer    VARCHAR NOT NULL,
            expires_at  TIMESTAMP NOT NULL
        );
        """
    )


MIGRATIONS.append((8, "review_leases", m008_review_leases))
