//! HTTPS for `trustwatch serve`: the Kubernetes API server calls admission webhooks only over
//! TLS, so the server can terminate it itself (rustls).
//!
//! The certificate and key come from two PEM files and are reloaded when either changes, the way
//! cert-manager or a mounted Secret replaces them: a task compares both files' modification
//! times and sizes every few seconds, loads the pair when they differ, and swaps it in for new
//! handshakes. A pair that does not load (a half-written file, a key that does not match the
//! certificate) is refused with an error in the log, and the previous pair stays in use.
//!
//! Handshakes run in tasks of their own, so a slow or silent client cannot hold up the others;
//! finished connections are handed to `axum::serve` through [`TlsListener`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the certificate chain and the private key are, and how often to look for changes.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub reload_every: Duration,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a certificate chain and its key, checking that the key belongs to the certificate.
pub fn load_pair(certificate: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .with_context(|| format!("reading the TLS certificate {}", certificate.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the TLS certificate {}", certificate.display()))?;
    if chain.is_empty() {
        bail!(
            "the TLS certificate file {} holds no PEM certificate",
            certificate.display()
        );
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the TLS private key {}", key.display()))?;
    CertifiedKey::from_der(chain, private, &provider()).with_context(|| {
        format!(
            "the TLS private key {} does not fit the certificate {}",
            key.display(),
            certificate.display()
        )
    })
}

/// The certificate served in every handshake, replaceable while the server runs.
#[derive(Debug)]
pub struct ReloadingCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCertificate {
    fn set(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// What tells a changed file: its modification time and size (`None` when it cannot be read).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Loads the pair (failing start-up if it does not load) and starts the task that reloads it.
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let initial = load_pair(&files.certificate, &files.key)?;
    let resolver = Arc::new(ReloadingCertificate {
        current: RwLock::new(Arc::new(initial)),
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    spawn_reloader(files.clone(), resolver);
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn spawn_reloader(files: TlsFiles, resolver: Arc<ReloadingCertificate>) {
    tokio::spawn(async move {
        let stamps = || (stamp(&files.certificate), stamp(&files.key));
        let mut last = stamps();
        let mut every = tokio::time::interval(files.reload_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = stamps();
            if now == last {
                continue;
            }
            // Remembered either way: a bad pair is tried again only once a file changes again.
            last = now;
            match load_pair(&files.certificate, &files.key) {
                Ok(pair) => {
                    resolver.set(pair);
                    tracing::info!(
                        certificate = %files.certificate.display(),
                        "reloaded the TLS certificate and key"
                    );
                }
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "the changed TLS certificate and key could not be used; still serving the previous ones"
                ),
            }
        }
    });
}

/// TLS connections, handshakes done, for `axum::serve`.
pub struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` and shakes hands with `acceptor`, each connection in its own task.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, connections) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most likely: wait rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            connections,
            local_addr,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accepting task never ends while this listener exists.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// Serves `router` over TLS until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    files: &TlsFiles,
) -> anyhow::Result<()> {
    let tls = TlsListener::new(listener, acceptor(files)?)?;
    // What `into_make_service_with_connect_info::<SocketAddr>` does for plain TCP: handlers
    // that ask for the peer's address find it.
    let make_service = tower::service_fn(
        move |incoming: axum::serve::IncomingStream<'_, TlsListener>| {
            let peer = axum::extract::ConnectInfo(*incoming.remote_addr());
            std::future::ready(Ok::<_, std::convert::Infallible>(
                tower_http::add_extension::AddExtension::new(router.clone(), peer),
            ))
        },
    );
    axum::serve(tls, make_service)
        .with_graceful_shutdown(crate::router::shutdown_signal())
        .await
        .context("serving HTTPS")
}
