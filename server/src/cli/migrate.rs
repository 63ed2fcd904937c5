use crate::Settings;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    super::connect(settings).await?;
    println!("database is up to date");
    Ok(())
}
