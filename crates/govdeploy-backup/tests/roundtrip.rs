//! Backup, verify, drill and restore against real PostgreSQL 15 and etcd servers, directory
//! and S3 (moto) stores; corruption and truncation detected.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use std::path::Path;
use std::time::Duration;

use govdeploy_backup::backup::{BackupRequest, create};
use govdeploy_backup::drill::{DrillOptions, drill};
use govdeploy_backup::etcd::EtcdTools;
use govdeploy_backup::manifest::{ETCD_FILE, Manifest, POSTGRES_FILE};
use govdeploy_backup::pg::{census, tools};
use govdeploy_backup::restore::{RestoreRequest, restore};
use govdeploy_backup::store::Store;
use govdeploy_backup::verify::verify;
use govdeploy_backup::{BackupError, retention};
use support::{Postgres, etcd, etcd_seed, moto, s3_config, seed};

fn request(pg: &Postgres, etcd: Option<&str>) -> BackupRequest {
    BackupRequest {
        environment: "test".into(),
        postgres: Some(pg.target("egov")),
        pg_bin: None,
        etcd: etcd.map(str::to_string),
        etcd_tls: None,
        wal_timeout: Duration::from_secs(30),
    }
}

fn drill_options(pg: &Postgres) -> DrillOptions<'static> {
    DrillOptions {
        scratch: pg.target("postgres"),
        pg_bin: None,
        etcd_tools: EtcdTools::default(),
        jobs: 2,
    }
}

fn restore_request(pg: &Postgres, database: &str, overwrite: bool) -> RestoreRequest {
    RestoreRequest {
        target: pg.target(database),
        admin: pg.target("postgres"),
        pg_bin: None,
        overwrite,
        jobs: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_verify_drill_restore_round_trip_in_a_directory() {
    let Some(pg) = Postgres::start(true) else {
        return;
    };
    let Some(etcd) = etcd() else { return };
    seed(&pg, "egov").await;
    etcd_seed(&etcd.url).await;
    let root = tempfile::tempdir().unwrap();
    let store = Store::Dir(root.path().to_path_buf());

    let manifest = create(&request(&pg, Some(&etcd.url)), &store)
        .await
        .unwrap();
    let pgr = manifest.postgres.as_ref().unwrap();
    assert_eq!(pgr.server_version_num / 10000, 15);
    assert!(
        pgr.pg_dump_version.contains("15."),
        "{}",
        pgr.pg_dump_version
    );
    let tables: Vec<(&str, u64)> = pgr
        .census
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(
        tables,
        vec![
            ("public.citizens", 5000),
            ("public.documents", 3),
            ("public.empty_table", 0),
            ("sales.\"Order Lines\"", 3000),
        ]
    );
    assert_eq!(pgr.census.large_objects.count, 3);
    // WAL archiving was on: the switched segment was archived before the backup completed.
    let segment = pgr.wal.switched_segment.clone().unwrap();
    assert!(
        pg.archive.join(&segment).is_file(),
        "{segment} not in the archive"
    );
    let etcd_record = manifest.etcd.as_ref().unwrap();
    assert_eq!(etcd_record.keys, 250);
    // The manifest on disk is the one returned; no staging folder is left behind.
    let dir = root.path().join(&manifest.id);
    let on_disk = Manifest::parse(
        &std::fs::read_to_string(dir.join("manifest.json")).unwrap(),
        "m",
    )
    .unwrap();
    assert_eq!(on_disk, manifest);
    let names: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![manifest.id.clone()]);

    let report = verify(&dir, &manifest, None).await.unwrap();
    assert!(report.ok(), "{}", report.render(&manifest.id));

    let drilled = drill(&dir, &manifest, &drill_options(&pg)).await.unwrap();
    assert!(drilled.passed(), "{}", drilled.render());
    let text = drilled.render();
    assert!(
        text.contains("4 tables, 8003 rows, 3 large objects"),
        "{text}"
    );
    assert!(
        text.contains("etcd: key count and key digest match"),
        "{text}"
    );
    // The scratch database is gone.
    let admin = pg.target("postgres").connect().await.unwrap();
    let scratch = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'govdeploy_drill_%'",
            &[],
        )
        .await
        .unwrap();
    assert!(scratch.is_empty());

    // Restore into a new database: same census as recorded.
    let summary = restore(
        &store,
        &manifest.id,
        &restore_request(&pg, "egov_restored", false),
    )
    .await
    .unwrap();
    assert_eq!(summary.rows, 8003);
    let restored_target = pg.target("egov_restored");
    let client = restored_target.connect().await.unwrap();
    let restored = census::take(&client, &restored_target, Some(&pgr.census))
        .await
        .unwrap();
    assert!(census::differences(&pgr.census, &restored).is_empty());
    let text: String = client
        .query_one("SELECT name FROM citizens WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(text, "Citizen 1 ಕನ್ನಡ नमस्ते ñandú 🐘");
    drop(client);

    // A second restore into the now non-empty database is refused unless told to overwrite.
    let err = restore(
        &store,
        &manifest.id,
        &restore_request(&pg, "egov_restored", false),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("--overwrite"), "{err}");
    restore(
        &store,
        &manifest.id,
        &restore_request(&pg, "egov_restored", true),
    )
    .await
    .unwrap();
    let client = restored_target.connect().await.unwrap();
    let again = census::take(&client, &restored_target, Some(&pgr.census))
        .await
        .unwrap();
    assert!(census::differences(&pgr.census, &again).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corruption_is_detected_and_drill_names_what_differs() {
    let Some(pg) = Postgres::start(false) else {
        return;
    };
    let Some(etcd) = etcd() else { return };
    seed(&pg, "egov").await;
    etcd_seed(&etcd.url).await;
    let root = tempfile::tempdir().unwrap();
    let store = Store::Dir(root.path().to_path_buf());
    let manifest = create(&request(&pg, Some(&etcd.url)), &store)
        .await
        .unwrap();
    assert_eq!(manifest.postgres.as_ref().unwrap().wal.archive_mode, "off");
    let dir = root.path().join(&manifest.id);

    // A census that no longer matches (as if rows were lost): the drill says which table.
    let mut tampered = manifest.clone();
    let pgr = tampered.postgres.as_mut().unwrap();
    pgr.census.tables[0].rows += 1;
    pgr.census.tables[3].checksum = "0".repeat(32);
    let report = drill(&dir, &tampered, &drill_options(&pg)).await.unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.problems(),
        vec![
            "table public.citizens: 5001 rows recorded, 5000 restored".to_string(),
            format!(
                "table sales.\"Order Lines\": content checksum {} recorded, {} restored (same row count 3000)",
                "0".repeat(32),
                manifest.postgres.as_ref().unwrap().census.tables[3].checksum
            ),
        ]
    );

    // One flipped byte in the dump and a truncated etcd snapshot.
    let dump = dir.join(POSTGRES_FILE);
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&dump, &bytes).unwrap();
    let snapshot = dir.join(ETCD_FILE);
    let snap = std::fs::read(&snapshot).unwrap();
    std::fs::write(&snapshot, &snap[..snap.len() - 1000]).unwrap();

    let report = verify(&dir, &manifest, None).await.unwrap();
    let text = report.render(&manifest.id);
    println!("{text}");
    assert!(!report.ok());
    assert!(text.contains("postgres.dump: SHA-256"), "{text}");
    assert!(
        text.contains("etcd.snapshot: ") && text.contains("truncated"),
        "{text}"
    );
    assert!(
        text.contains("not a whole number of 512-byte pages"),
        "{text}"
    );

    let drilled = drill(&dir, &manifest, &drill_options(&pg)).await.unwrap();
    assert!(!drilled.passed());
    assert!(
        drilled.render().contains("not restored"),
        "{}",
        drilled.render()
    );
    let err = restore(&store, &manifest.id, &restore_request(&pg, "never", false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not pass verify"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_round_trip_with_retention() {
    let Some(pg) = Postgres::start(false) else {
        return;
    };
    let Some(s3) = moto("backups") else { return };
    seed(&pg, "egov").await;
    let config = s3_config(&s3.url);
    let store = Store::parse("s3://backups/envs/test", &config).unwrap();

    let first = create(&request(&pg, None), &store).await.unwrap();
    // Ids have second precision.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = create(&request(&pg, None), &store).await.unwrap();
    let (listed, unreadable) = store.list().await.unwrap();
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let ids: Vec<&str> = listed.iter().map(|l| l.manifest.id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str(), second.id.as_str()]);

    let (manifest, opened) = store.open(&first.id).await.unwrap();
    let report = verify(&opened.dir, &manifest, None).await.unwrap();
    assert!(report.ok(), "{}", report.render(&first.id));
    let drilled = drill(&opened.dir, &manifest, &drill_options(&pg))
        .await
        .unwrap();
    assert!(drilled.passed(), "{}", drilled.render());
    store
        .put_verification(&govdeploy_backup::manifest::Verification {
            backup: first.id.clone(),
            checked_at: govdeploy_backup::manifest::now_rfc3339(),
            by: "drill".into(),
            passed: true,
            problems: vec![],
        })
        .await
        .unwrap();

    // keep_last 0 still keeps the newest verified backup (the older one); the unverified
    // newer one goes.
    let (listed, _) = store.list().await.unwrap();
    let candidates: Vec<retention::Candidate> = listed
        .iter()
        .map(|l| retention::Candidate {
            id: l.manifest.id.clone(),
            created_at: l.manifest.created_at.parse().unwrap(),
            verified: l.verification.as_ref().is_some_and(|v| v.passed),
        })
        .collect();
    let decision = retention::decide(
        &candidates,
        retention::Policy {
            keep_last: 0,
            keep_days: None,
        },
        jiff::Timestamp::now(),
    );
    assert_eq!(decision.remove, vec![second.id.clone()]);
    store.delete(&second.id).await.unwrap();
    let (listed, _) = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].manifest.id, first.id);
    assert!(listed[0].verification.as_ref().is_some_and(|v| v.passed));
}

#[tokio::test]
async fn a_client_of_another_major_is_refused() {
    if !support::require(
        &Path::new(support::PG_BIN).join("pg_dump"),
        "install PostgreSQL 15",
    ) {
        return;
    }
    let err = tools::find(14, Some(Path::new(support::PG_BIN)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the server is 14") && err.contains("postgresql-client-14"),
        "{err}"
    );
    let err = tools::find(99, None).await.unwrap_err().to_string();
    assert!(err.contains("/usr/lib/postgresql/99/bin"), "{err}");
}
