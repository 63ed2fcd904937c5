use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    if service::demo::is_loaded(&pool).await? {
        println!("demo data is already loaded; left as it is");
        return Ok(());
    }
    let publisher = crate::bundle_key::for_command(settings, &pool).await?;
    match service::demo::load(&pool, &publisher, chrono::Utc::now()).await? {
        Some(r) => println!(
            "demo loaded: {} clusters, {} keys, {} policies, {} signing events, {} verification events; trust bundle version {}",
            r.clusters,
            r.keys,
            r.policies,
            r.signing_events,
            r.verification_events,
            r.bundle_version.map_or("unchanged".to_owned(), |v| v.to_string())
        ),
        None => println!("demo data is already loaded; left as it is"),
    }
    Ok(())
}
