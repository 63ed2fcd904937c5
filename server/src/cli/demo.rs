use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let pool = super::connect(settings).await?;
    match service::demo::load(&pool, chrono::Utc::now()).await? {
        Some(r) => println!(
            "demo loaded: {} clusters, {} keys, {} signing events, {} verification events",
            r.clusters, r.keys, r.signing_events, r.verification_events
        ),
        None => println!("demo data is already loaded; left as it is"),
    }
    Ok(())
}
