//! Sharding one config over several replicas (`--shard.index=I --shard.total=N`): a replica polls
//! the databases whose name Prometheus' `hashmod` relabel action puts in bucket I, so `/sd` plus
//! `hashmod` on the Prometheus side route every `/probe` target to the replica that polls it.

use md5::{Digest, Md5};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::config::Config;

/// Which part of the configured databases this replica polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This replica's bucket, `0..total`.
    pub index: u64,
    /// How many replicas share the config.
    pub total: u64,
}

impl Default for Shard {
    /// One replica that polls everything.
    fn default() -> Shard {
        Shard { index: 0, total: 1 }
    }
}

impl Shard {
    /// A shard from the flags, refused unless `index < total`.
    pub fn new(index: u64, total: u64) -> Result<Shard, String> {
        if total == 0 {
            return Err("--shard.total must be at least 1".into());
        }
        if index >= total {
            return Err(format!(
                "--shard.index={index} must be below --shard.total={total} (indexes count from 0)"
            ));
        }
        Ok(Shard { index, total })
    }

    /// The bucket Prometheus' `hashmod` with modulus `total` gives `name`: the MD5 of the name,
    /// its last 8 bytes read big-endian, modulo `total`.
    pub fn bucket(name: &str, total: u64) -> u64 {
        let sum = Md5::digest(name.as_bytes());
        let mut low = [0u8; 8];
        low.copy_from_slice(&sum[8..16]);
        u64::from_be_bytes(low) % total
    }

    /// Whether this replica polls database `name`.
    pub fn owns(&self, name: &str) -> bool {
        self.total == 1 || Self::bucket(name, self.total) == self.index
    }

    /// `config` with only the databases this replica polls. Databases that another one references
    /// stay readable: a reference carries its own connection details.
    pub fn owned(&self, config: &Config) -> Config {
        let mut owned = config.clone();
        owned.databases.retain(|db| self.owns(&db.name));
        owned
    }
}

/// What a replica knows of the whole configuration beyond the databases it polls: its shard, the
/// databases other replicas poll, and the `/sd` document listing every configured database.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// This replica's shard.
    pub shard: Shard,
    /// Configured databases polled by another replica, with the bucket of the one that does.
    pub elsewhere: HashMap<String, u64>,
    /// `/sd`: Prometheus HTTP service discovery JSON, one target group per configured database.
    pub discovery: String,
}

/// One target group of `/sd`.
#[derive(Serialize)]
struct TargetGroup<'a> {
    targets: [&'a str; 1],
    labels: BTreeMap<&'static str, String>,
}

impl Fleet {
    /// The fleet of `config` (every configured database) as seen by replica `shard`.
    pub fn new(config: &Config, shard: Shard) -> Fleet {
        let mut elsewhere = HashMap::new();
        let mut groups = Vec::with_capacity(config.databases.len());
        for db in &config.databases {
            let bucket = Shard::bucket(&db.name, shard.total);
            if bucket != shard.index {
                elsewhere.insert(db.name.clone(), bucket);
            }
            // Labels say what a relabel rule may want to route or filter on; never the URL or host.
            let labels = BTreeMap::from([
                ("__meta_schema_exporter_database", db.name.clone()),
                (
                    "__meta_schema_exporter_engine",
                    db.engine.name().to_string(),
                ),
                (
                    "__meta_schema_exporter_interval",
                    humantime::format_duration(db.interval).to_string(),
                ),
                ("__meta_schema_exporter_shard", bucket.to_string()),
                ("__meta_schema_exporter_shards", shard.total.to_string()),
                (
                    "__meta_schema_exporter_tenants",
                    db.tenants.is_some().to_string(),
                ),
            ]);
            groups.push(TargetGroup {
                targets: [&db.name],
                labels,
            });
        }
        let discovery =
            serde_json::to_string(&groups).expect("target groups always serialise") + "\n";
        Fleet {
            shard,
            elsewhere,
            discovery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets computed independently (Python: `int.from_bytes(md5(name).digest()[8:], "big") % n`),
    /// which is what Prometheus' relabel code does.
    #[test]
    fn buckets_agree_with_prometheus_hashmod() {
        for (name, total, bucket) in [
            ("app", 2, 1),
            ("app", 3, 0),
            ("app", 7, 6),
            ("billing", 2, 0),
            ("billing", 3, 2),
            ("lite0", 7, 3),
            ("db17", 2, 0),
            ("tenant-a", 7, 4),
            ("x", 3, 1),
        ] {
            assert_eq!(Shard::bucket(name, total), bucket, "{name} mod {total}");
        }
    }

    #[test]
    fn every_name_has_exactly_one_owner_and_bad_flags_are_refused() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for n in 0..200 {
            let name = format!("db{n}");
            assert_eq!(shards.iter().filter(|s| s.owns(&name)).count(), 1, "{name}");
        }
        assert!(Shard::default().owns("anything"));
        assert!(Shard::new(2, 2)
            .unwrap_err()
            .contains("below --shard.total=2"));
        assert!(Shard::new(0, 0).unwrap_err().contains("at least 1"));
    }
}
