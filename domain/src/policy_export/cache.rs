//! How long a cluster run by another engine may keep admitting on the old answer after the
//! exported policy is applied: the incident console shows it next to the export.

use chrono::TimeDelta;

use super::ExportFormat;

/// A conservative upper bound on how long a cluster may keep admitting images on a verdict
/// reached under the old policy after the exported one is applied, with the engine's default
/// settings.
///
/// - Kyverno, both kinds: the image-verification cache of the admission controller, flag
///   `--imageVerifyCacheTTLDuration`, default `60m` (`--imageVerifyCacheEnabled` defaults to
///   `true`, `0` means the default). Its key is the policy's UID and `resourceVersion`, the rule
///   and the image, so applying a *changed* policy normally takes effect as soon as Kyverno's
///   informer sees it (seconds); the TTL bounds what an unchanged object keeps.
/// - policy-controller: no verdict cache unless the webhook runs with `--enable-cache`, whose
///   `--cache-ttl` defaults to `1h`, keyed the same way by the policy's UID and
///   `resourceVersion`. Inlined keys need no `--policy-resync-period` (10h, for keys in KMS).
///
/// Both bounds assume defaults: a cluster that raised the TTL keeps old verdicts longer. And no
/// engine re-checks pods that already run: restart them to be rid of an image admitted before.
pub fn cache_expiry_estimate(format: ExportFormat) -> TimeDelta {
    match format {
        ExportFormat::KyvernoClusterPolicy | ExportFormat::KyvernoImageValidatingPolicy => {
            TimeDelta::minutes(60)
        }
        ExportFormat::PolicyController => TimeDelta::hours(1),
    }
}

/// The setting behind [`cache_expiry_estimate`], in a sentence fit to show next to it.
pub fn cache_expiry_note(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::KyvernoClusterPolicy | ExportFormat::KyvernoImageValidatingPolicy => {
            "Kyverno caches image verifications for --imageVerifyCacheTTLDuration (default 60m), \
             keyed by the policy's resourceVersion: a changed policy applies within seconds, an \
             unchanged one keeps cached verdicts up to the TTL. Running pods are not re-checked."
        }
        ExportFormat::PolicyController => {
            "policy-controller caches verdicts only with --enable-cache, for --cache-ttl (default \
             1h), keyed by the policy's resourceVersion: a changed policy applies within seconds. \
             Running pods are not re-checked."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_follow_the_engines_defaults() {
        assert_eq!(
            cache_expiry_estimate(ExportFormat::KyvernoClusterPolicy),
            TimeDelta::minutes(60)
        );
        assert_eq!(
            cache_expiry_estimate(ExportFormat::KyvernoImageValidatingPolicy),
            TimeDelta::minutes(60)
        );
        assert_eq!(
            cache_expiry_estimate(ExportFormat::PolicyController),
            TimeDelta::hours(1)
        );
        assert!(cache_expiry_note(ExportFormat::KyvernoClusterPolicy)
            .contains("--imageVerifyCacheTTLDuration"));
        assert!(cache_expiry_note(ExportFormat::PolicyController).contains("--cache-ttl"));
    }
}
