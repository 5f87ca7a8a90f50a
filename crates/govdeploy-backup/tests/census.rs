//! The census against a real PostgreSQL 15: which tables use the cheap record hash and which
//! the text form, that a dump and restore reproduces both, and that one changed row, one
//! changed large object or a swapped pair of values is noticed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::time::Duration;

use govdeploy_backup::backup::{BackupRequest, create};
use govdeploy_backup::drill::{DrillOptions, drill};
use govdeploy_backup::etcd::EtcdTools;
use govdeploy_backup::pg::census::{self, RowHash};
use govdeploy_backup::store::Store;
use support::Postgres;

const KINDS: &str = r#"
CREATE TYPE case_status AS ENUM ('filed', 'assigned', 'closed');
CREATE DOMAIN ward AS int CHECK (VALUE > 0);
CREATE TABLE plain (id int PRIMARY KEY, name text, amount numeric(10,2), tags text[], at timestamptz, raw bytea);
INSERT INTO plain SELECT g, 'ಕನ್ನಡ ' || g, g * 1.5, ARRAY['a', 'ñ' || g], timestamptz '2020-01-01' + g * interval '1 hour', decode(md5(g::text), 'hex')
  FROM generate_series(1, 500) g;
CREATE TABLE cases (id int PRIMARY KEY, status case_status, w ward);
INSERT INTO cases SELECT g, (ARRAY['filed', 'assigned', 'closed'])[1 + g % 3]::case_status, 1 + g % 9 FROM generate_series(1, 300) g;
CREATE TABLE refs (id int PRIMARY KEY, rel regclass, doc json, at point);
INSERT INTO refs VALUES (1, 'plain', '{"a": 1}', '(1,2)'), (2, 'cases', '[]', '(3,4)');
CREATE TABLE docs (id int PRIMARY KEY, file oid);
INSERT INTO docs VALUES (1, lo_from_bytea(0, convert_to('पहला', 'UTF8'))), (2, lo_from_bytea(0, '\x00ff'::bytea));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn census_hashes_survive_restore_and_notice_a_changed_row() {
    let Some(pg) = Postgres::start(false) else {
        return;
    };
    let admin = pg.target("postgres");
    govdeploy_backup::pg::restore::ensure_database(&admin, "kinds")
        .await
        .unwrap();
    let source = pg.target("kinds");
    let client = source.connect().await.unwrap();
    client.batch_execute(KINDS).await.unwrap();

    let root = tempfile::tempdir().unwrap();
    let store = Store::Dir(root.path().to_path_buf());
    let request = BackupRequest {
        environment: "kinds".into(),
        postgres: Some(source.clone()),
        pg_bin: None,
        etcd: None,
        etcd_tls: None,
        wal_timeout: Duration::from_secs(30),
    };
    let manifest = create(&request, &store).await.unwrap();
    let recorded = manifest.postgres.as_ref().unwrap().census.clone();
    let hashes: Vec<(&str, RowHash, u64)> = recorded
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.hash, t.rows))
        .collect();
    // Enum and domain columns (OIDs reassigned on restore, user types), regclass, json and
    // point (no stable or no hash function) go through the text form.
    assert_eq!(
        hashes,
        vec![
            ("public.cases", RowHash::Text, 300),
            ("public.docs", RowHash::Record, 2),
            ("public.plain", RowHash::Record, 500),
            ("public.refs", RowHash::Text, 2),
        ]
    );
    assert_eq!(recorded.large_objects.count, 2);

    // The drill restores into a fresh database (new enum OIDs) and every checksum matches.
    let options = DrillOptions {
        scratch: admin.clone(),
        pg_bin: None,
        etcd_tools: EtcdTools::default(),
        jobs: 2,
    };
    let dir = root.path().join(&manifest.id);
    let report = drill(&dir, &manifest, &options).await.unwrap();
    assert!(report.passed(), "{}", report.render());

    // The same comparison the drill makes, after one changed value in each kind of table,
    // a swap of two values between rows, and a changed large object.
    let same = census::take(&client, &source, Some(&recorded))
        .await
        .unwrap();
    assert!(census::differences(&recorded, &same).is_empty());
    client
        .batch_execute(
            "UPDATE plain SET name = 'ಕನ್ನಡ 8' WHERE id = 7;
             UPDATE cases SET status = 'closed' WHERE id = 1;
             UPDATE refs SET doc = '{\"a\": 2}' WHERE id = 1;
             UPDATE docs SET id = 3 WHERE id = 2; UPDATE docs SET id = 2 WHERE id = 1; UPDATE docs SET id = 1 WHERE id = 3;
             SELECT lo_put(file, 0, '\\x01'::bytea) FROM docs WHERE id = 1;",
        )
        .await
        .unwrap();
    let changed = census::take(&client, &source, Some(&recorded))
        .await
        .unwrap();
    let differences = census::differences(&recorded, &changed);
    let tables: Vec<&str> = differences
        .iter()
        .map(|d| d.split(':').next().unwrap())
        .collect();
    assert_eq!(
        tables,
        vec![
            "table public.cases",
            "table public.docs",
            "table public.plain",
            "table public.refs",
            "large objects"
        ],
        "{differences:#?}"
    );
    assert!(
        differences[0].contains("same row count 300"),
        "{differences:?}"
    );
}
