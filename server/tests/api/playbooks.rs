//! Start-up reads the playbooks: the repository's load, a broken file stops the server.

use sqlx::PgPool;

use crate::helpers::repository_playbooks;

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_repository_playbooks_are_loaded_at_start_up(pool: PgPool) {
    let settings = server::Settings {
        playbooks_dir: repository_playbooks(),
        bundle_key_file: std::env::temp_dir()
            .join(format!("tw-test-{}", uuid::Uuid::now_v7()))
            .join("bundle-signing.key"),
        ..server::Settings::default()
    };
    let parts = server::build_router(pool, &settings).await.unwrap();
    let playbooks = &parts.state.playbooks;
    let compromise = playbooks.get("key-compromise").unwrap();
    assert_eq!(compromise.steps().last().unwrap().id, "review");
    for id in [
        "planned-key-rotation",
        "signer-identity-revocation",
        "rejection-storm",
    ] {
        assert!(playbooks.get(id).is_some(), "{id}");
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn a_broken_playbook_stops_start_up_naming_file_and_line(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("tw-playbooks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(repository_playbooks().join("key-compromise.toml")).unwrap();
    std::fs::write(dir.join("key-compromise.toml"), &good).unwrap();
    // The rotation playbook with its third step depending on a step that comes later.
    let rotation =
        std::fs::read_to_string(repository_playbooks().join("planned-key-rotation.toml")).unwrap();
    let needle = "depends_on = [\"plan\"]\ninstructions = '''\nCreate the new key";
    assert_eq!(
        rotation.matches(needle).count(),
        1,
        "the rotation playbook changed"
    );
    let broken = rotation.replacen(
        needle,
        "depends_on = [\"switch-signers\"]\ninstructions = '''\nCreate the new key",
        1,
    );
    let line = broken[..broken.find("[\"switch-signers\"]").unwrap()]
        .matches('\n')
        .count()
        + 1;
    std::fs::write(dir.join("planned-key-rotation.toml"), broken).unwrap();

    let settings = server::Settings {
        playbooks_dir: dir.clone(),
        ..server::Settings::default()
    };
    let error = match server::build_router(pool.clone(), &settings).await {
        Ok(_) => panic!("started with a broken playbook"),
        Err(e) => format!("{e:#}"),
    };
    let at = format!(
        "{}:{line}: ",
        dir.join("planned-key-rotation.toml").display()
    );
    assert!(error.contains(&at), "expected {at:?} in {error}");
    assert!(
        error.contains("\"switch-signers\" does not name an earlier step"),
        "{error}"
    );
    // Stopped before anything else was prepared: no trust bundle was published.
    let bundles: i64 = sqlx::query_scalar("SELECT count(*) FROM trust_bundles")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bundles, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
