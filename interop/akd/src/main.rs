//! `akd-interop`: a small command-line harness around the published `akd` crate (0.12.0 from
//! ../Cargo.toml, or 0.13.0 from ../v0_13/Cargo.toml: the same source for both).
//!
//! It lets glasskey's Python test-suite (interop/akd/test_akd_interop.py) use Meta's own
//! implementation as a peer: `generate` runs a real akd `Directory` (in-memory storage,
//! `HardCodedAkdVRF`) over a publish schedule and writes every proof as protobuf bytes, and
//! the `verify-*` commands run akd's own client and auditor verifiers on proof files.
//!
//! Exit status: 0 = success / verified, 1 = verification failed (message on stderr),
//! 2 = usage or I/O error.
//!
//! See interop/README.md for the command reference.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use akd::append_only_zks::AzksParallelismConfig;
use akd::ecvrf::HardCodedAkdVRF;
use akd::local_auditing::AuditBlobName;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::storage::StorageManager;
use akd::{
    AkdLabel, AkdValue, AppendOnlyProof, Configuration, Digest, Directory, DomainLabel,
    ExampleLabel, ExperimentalConfiguration, HistoryParams, HistoryProof,
    HistoryVerificationParams, LookupProof, SingleAppendOnlyProof, VerifyResult,
    WhatsAppV1Configuration,
};
use protobuf::Message;
use serde_json::{json, Value};

/// The akd release this binary links (v0_13/Cargo.toml enables the `akd_0_13` feature).
const AKD_VERSION: &str = if cfg!(feature = "akd_0_13") {
    "0.13.0"
} else {
    "0.12.0"
};

const USAGE: &str = "\
usage: akd-interop <command> [options]

commands:
  generate          --config C [--domain-label T] --schedule FILE.json --out DIR
                    [--most-recent N[,N...]] [--every-epoch] [--no-audit]
                    [--tombstone LABEL_HEX@EPOCH[,...]]
  vrf-public-key    print the HardCodedAkdVRF public key (hex)
  verify-lookup     --config C [--domain-label T] --vrf-pk HEX --root HEX --epoch N
                    (--label-hex HEX | --label TEXT) --proof FILE
  verify-history    (same as verify-lookup) (--complete | --most-recent N)
                    [--allow-missing-values]
  verify-absence    --config C [--domain-label T] --vrf-pk HEX --root HEX --epoch N
                    (--label-hex HEX | --label TEXT) --vrf-proof HEX --proof FILE
                    (a NonMembershipProof: glasskey's proof that LABEL has no version 1)
  verify-version    (same as verify-lookup) --version V --proof FILE (an UpdateProof)
  verify-audit      --config C [--domain-label T] --hashes HEX,HEX,... --proof FILE
  verify-audit-blob --config C [--domain-label T] --blob-name E/PREV/CUR --proof FILE
  tamper-sweep      --kind lookup|history|absence|version|audit|audit-blob (options of that verify-*)
                    [--masks 01,80]: flip every byte, list the variants akd still accepts
  decode            --kind lookup|history|single-audit|audit --proof FILE

C is whatsapp_v1 or experimental; T (experimental only) defaults to ExampleLabel.
exit status: 0 ok, 1 verification failed, 2 usage or I/O error";

// ---------------------------------------------------------------------------------------------
// Errors and exit codes

enum Failure {
    /// Bad command line, unreadable file, ...: exit 2.
    Usage(String),
    /// akd rejected the proof (including protobuf decoding failures): exit 1.
    Verify(String),
}

type Res<T> = Result<T, Failure>;

fn usage<T>(msg: impl Into<String>) -> Res<T> {
    Err(Failure::Usage(msg.into()))
}

fn io_err(path: &Path, e: std::io::Error) -> Failure {
    Failure::Usage(format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// A domain label chosen at run time (for --domain-label other than ExampleLabel)

static RUNTIME_LABEL: OnceLock<&'static [u8]> = OnceLock::new();

#[derive(Clone)]
struct RuntimeLabel;

impl DomainLabel for RuntimeLabel {
    fn domain_label() -> &'static [u8] {
        RUNTIME_LABEL
            .get()
            .copied()
            .expect("runtime domain label not initialised")
    }
}

#[derive(Clone, Copy)]
enum Cfg {
    WhatsAppV1,
    ExperimentalExample,
    ExperimentalRuntime,
}

macro_rules! dispatch {
    ($cfg:expr, $f:ident ( $($arg:expr),* )) => {
        match $cfg {
            Cfg::WhatsAppV1 => $f::<WhatsAppV1Configuration>($($arg),*).await,
            Cfg::ExperimentalExample => {
                $f::<ExperimentalConfiguration<ExampleLabel>>($($arg),*).await
            }
            Cfg::ExperimentalRuntime => {
                $f::<ExperimentalConfiguration<RuntimeLabel>>($($arg),*).await
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Argument parsing (tiny, to keep the dependency set and the build time small)

const FLAGS: &[&str] = &["complete", "allow-missing-values", "every-epoch", "no-audit"];

struct Args {
    values: HashMap<String, String>,
    flags: BTreeSet<String>,
}

impl Args {
    fn parse(raw: &[String], allowed: &[&str]) -> Res<Args> {
        let mut values = HashMap::new();
        let mut flags = BTreeSet::new();
        let mut it = raw.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return usage(format!("unexpected argument {a:?}"));
            };
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (name, None),
            };
            if !allowed.contains(&name) {
                return usage(format!("unknown option --{name}"));
            }
            if FLAGS.contains(&name) {
                if inline.is_some() {
                    return usage(format!("--{name} takes no value"));
                }
                flags.insert(name.to_string());
                continue;
            }
            let v = match inline {
                Some(v) => v,
                None => match it.next() {
                    Some(v) => v.clone(),
                    None => return usage(format!("--{name} needs a value")),
                },
            };
            if values.insert(name.to_string(), v).is_some() {
                return usage(format!("--{name} given twice"));
            }
        }
        Ok(Args { values, flags })
    }

    fn opt(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn req(&self, name: &str) -> Res<&str> {
        match self.opt(name) {
            Some(v) => Ok(v),
            None => usage(format!("missing --{name}")),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.contains(name)
    }

    fn u64(&self, name: &str) -> Res<u64> {
        let v = self.req(name)?;
        v.parse()
            .or_else(|_| usage(format!("--{name}: not an unsigned integer: {v:?}")))
    }

    fn hex(&self, name: &str) -> Res<Vec<u8>> {
        parse_hex(name, self.req(name)?)
    }

    fn digest(&self, name: &str) -> Res<Digest> {
        to_digest(name, &self.hex(name)?)
    }

    fn config(&self) -> Res<Cfg> {
        let label = self.opt("domain-label");
        match self.req("config")? {
            "whatsapp_v1" => {
                if label.is_some() {
                    return usage("--domain-label only applies to --config experimental");
                }
                Ok(Cfg::WhatsAppV1)
            }
            "experimental" => match label {
                None | Some("ExampleLabel") => Ok(Cfg::ExperimentalExample),
                Some(t) => {
                    let leaked: &'static [u8] = Box::leak(t.as_bytes().to_vec().into_boxed_slice());
                    let _ = RUNTIME_LABEL.set(leaked);
                    Ok(Cfg::ExperimentalRuntime)
                }
            },
            other => usage(format!(
                "--config must be whatsapp_v1 or experimental, not {other:?}"
            )),
        }
    }

    fn akd_label(&self) -> Res<AkdLabel> {
        match (self.opt("label-hex"), self.opt("label")) {
            (Some(h), None) => Ok(AkdLabel(parse_hex("label-hex", h)?)),
            (None, Some(t)) => Ok(AkdLabel(t.as_bytes().to_vec())),
            _ => usage("give exactly one of --label-hex and --label"),
        }
    }

    fn proof_bytes(&self) -> Res<Vec<u8>> {
        let p = PathBuf::from(self.req("proof")?);
        fs::read(&p).map_err(|e| io_err(&p, e))
    }

    fn history_params(&self) -> Res<HistoryParams> {
        match (self.flag("complete"), self.opt("most-recent")) {
            (true, None) => Ok(HistoryParams::Complete),
            (false, Some(n)) => match n.parse::<usize>() {
                Ok(n) => Ok(HistoryParams::MostRecent(n)),
                Err(_) => usage(format!("--most-recent: not an unsigned integer: {n:?}")),
            },
            _ => usage("give exactly one of --complete and --most-recent N"),
        }
    }
}

fn parse_hex(name: &str, s: &str) -> Res<Vec<u8>> {
    hex::decode(s).or_else(|e| usage(format!("--{name}: bad hex: {e}")))
}

fn to_digest(name: &str, b: &[u8]) -> Res<Digest> {
    b.try_into()
        .or_else(|_| usage(format!("--{name}: expected 32 bytes, got {}", b.len())))
}

// ---------------------------------------------------------------------------------------------
// Protobuf helpers (akd_core's own generated messages and conversions)

fn encode<M: Message>(m: &M) -> Vec<u8> {
    m.write_to_bytes().expect("protobuf encoding cannot fail")
}

fn decode_lookup(b: &[u8]) -> Result<LookupProof, String> {
    let p = akd::proto::specs::types::LookupProof::parse_from_bytes(b)
        .map_err(|e| format!("protobuf: {e}"))?;
    LookupProof::try_from(&p).map_err(|e| format!("conversion: {e}"))
}

fn decode_history(b: &[u8]) -> Result<HistoryProof, String> {
    let p = akd::proto::specs::types::HistoryProof::parse_from_bytes(b)
        .map_err(|e| format!("protobuf: {e}"))?;
    HistoryProof::try_from(&p).map_err(|e| format!("conversion: {e}"))
}

fn decode_single_audit(b: &[u8]) -> Result<SingleAppendOnlyProof, String> {
    let p = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(b)
        .map_err(|e| format!("protobuf: {e}"))?;
    SingleAppendOnlyProof::try_from(&p).map_err(|e| format!("conversion: {e}"))
}

fn decode_audit(b: &[u8]) -> Result<AppendOnlyProof, String> {
    let p = akd::proto::specs::types::AppendOnlyProof::parse_from_bytes(b)
        .map_err(|e| format!("protobuf: {e}"))?;
    AppendOnlyProof::try_from(&p).map_err(|e| format!("conversion: {e}"))
}

fn lookup_bytes(p: &LookupProof) -> Vec<u8> {
    encode(&akd::proto::specs::types::LookupProof::from(p))
}

fn history_bytes(p: &HistoryProof) -> Vec<u8> {
    encode(&akd::proto::specs::types::HistoryProof::from(p))
}

fn single_audit_bytes(p: &SingleAppendOnlyProof) -> Vec<u8> {
    encode(&akd::proto::specs::types::SingleAppendOnlyProof::from(p))
}

fn audit_bytes(p: &AppendOnlyProof) -> Vec<u8> {
    encode(&akd::proto::specs::types::AppendOnlyProof::from(p))
}

fn result_json(r: &VerifyResult) -> Value {
    json!({"epoch": r.epoch, "version": r.version, "value_hex": hex::encode(&r.value.0)})
}

// ---------------------------------------------------------------------------------------------
// generate

fn write_file(path: &Path, data: &[u8]) -> Res<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    fs::write(path, data).map_err(|e| io_err(path, e))
}

fn akd_fail(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Usage(format!("akd {what} failed: {}", e.to_string().trim_end()))
}

type Schedule = Vec<Vec<(Vec<u8>, Vec<u8>)>>;

fn read_schedule(path: &Path) -> Res<Schedule> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let v: Value = serde_json::from_str(&text)
        .or_else(|e| usage(format!("{}: bad JSON: {e}", path.display())))?;
    let bad = || usage(format!("{}: expected [[[label_hex, value_hex], ...], ...]", path.display()));
    let Some(epochs) = v.as_array() else { return bad() };
    let mut out = Vec::with_capacity(epochs.len());
    for ep in epochs {
        let Some(entries) = ep.as_array() else { return bad() };
        let mut batch = Vec::with_capacity(entries.len());
        for e in entries {
            let pair = match e.as_array() {
                Some(p) if p.len() == 2 => p,
                _ => return bad(),
            };
            let (Some(l), Some(val)) = (pair[0].as_str(), pair[1].as_str()) else {
                return bad();
            };
            batch.push((parse_hex("schedule label", l)?, parse_hex("schedule value", val)?));
        }
        out.push(batch);
    }
    Ok(out)
}

struct GenOpts {
    schedule: Schedule,
    out: PathBuf,
    most_recent: Vec<usize>,
    every_epoch: bool,
    audit: bool,
    config_name: String,
    domain_label: Option<String>,
    /// (label, epoch): after the schedule, tombstone the label's values up to epoch.
    tombstones: Vec<(Vec<u8>, u64)>,
}

/// Writes lookup and history proofs of every label in `labels` at the directory's current
/// epoch into `dir`. Returns {label_hex: {"lookup": ..., "history_complete": ...}} (paths
/// relative to the output root).
async fn write_client_proofs<TC: Configuration>(
    akd: &Directory<TC, AsyncInMemoryDatabase, HardCodedAkdVRF>,
    labels: &BTreeSet<Vec<u8>>,
    root: &Path,
    rel: &str,
    most_recent: &[usize],
    expect_epoch: u64,
) -> Res<Value> {
    let mut files = serde_json::Map::new();
    for (idx, label) in labels.iter().enumerate() {
        let lh = hex::encode(label);
        // File names: the label's hex, except for empty and very long labels.
        let stem = if label.is_empty() {
            "empty".to_string()
        } else if label.len() > 100 {
            format!("long-{idx}")
        } else {
            lh.clone()
        };
        let akd_label = AkdLabel(label.clone());
        let mut entry = serde_json::Map::new();

        let (proof, eh) = akd
            .lookup(akd_label.clone())
            .await
            .map_err(|e| akd_fail("lookup", e))?;
        assert_eq!(eh.epoch(), expect_epoch);
        let name = format!("{rel}lookup/{stem}.bin");
        write_file(&root.join(&name), &lookup_bytes(&proof))?;
        entry.insert("lookup".into(), json!(name));

        let (proof, eh) = akd
            .key_history(&akd_label, HistoryParams::Complete)
            .await
            .map_err(|e| akd_fail("key_history", e))?;
        assert_eq!(eh.epoch(), expect_epoch);
        let name = format!("{rel}history_complete/{stem}.bin");
        write_file(&root.join(&name), &history_bytes(&proof))?;
        entry.insert("history_complete".into(), json!(name));

        for &n in most_recent {
            let (proof, _) = akd
                .key_history(&akd_label, HistoryParams::MostRecent(n))
                .await
                .map_err(|e| akd_fail("key_history", e))?;
            let key = format!("history_most_recent_{n}");
            let name = format!("{rel}{key}/{stem}.bin");
            write_file(&root.join(&name), &history_bytes(&proof))?;
            entry.insert(key, json!(name));
        }
        files.insert(lh, Value::Object(entry));
    }
    Ok(Value::Object(files))
}

async fn generate<TC: Configuration>(o: &GenOpts) -> Res<()> {
    let db = AsyncInMemoryDatabase::new();
    let storage = StorageManager::new_no_cache(db);
    let storage_handle = storage.clone(); // shares the database, for tombstoning
    let akd = Directory::<TC, _, _>::new(storage, HardCodedAkdVRF {}, AzksParallelismConfig::default())
        .await
        .map_err(|e| akd_fail("Directory::new", e))?;
    let vrf_pk = akd
        .get_public_key()
        .await
        .map_err(|e| akd_fail("get_public_key", e))?;

    let mut roots: Vec<Digest> = vec![akd
        .get_epoch_hash()
        .await
        .map_err(|e| akd_fail("get_epoch_hash", e))?
        .hash()];
    let mut publish_results = Vec::new();
    let mut labels: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut per_epoch = serde_json::Map::new();

    for (i, batch) in o.schedule.iter().enumerate() {
        let updates: Vec<(AkdLabel, AkdValue)> = batch
            .iter()
            .map(|(l, v)| (AkdLabel(l.clone()), AkdValue(v.clone())))
            .collect();
        let res = akd.publish(updates).await;
        let eh = match res {
            Ok(eh) => eh,
            Err(e) => {
                // akd rejects a batch as a whole (e.g. duplicate labels); record and go on.
                let cur = akd.get_epoch_hash().await.map_err(|e| akd_fail("get_epoch_hash", e))?;
                publish_results.push(json!({
                    "index": i,
                    "epoch": cur.epoch(),
                    "root_hash": hex::encode(cur.hash()),
                    "error": e.to_string().trim_end(),
                }));
                continue;
            }
        };
        let new_epoch = eh.epoch() as usize == roots.len();
        if new_epoch {
            roots.push(eh.hash());
            for (l, _) in batch {
                labels.insert(l.clone());
            }
        } else {
            assert_eq!(eh.epoch() as usize + 1, roots.len(), "akd skipped an epoch");
            assert_eq!(eh.hash(), *roots.last().unwrap());
        }
        publish_results.push(json!({
            "index": i,
            "epoch": eh.epoch(),
            "root_hash": hex::encode(eh.hash()),
            "new_epoch": new_epoch,
        }));
        if o.every_epoch && new_epoch {
            let rel = format!("epochs/{}/", eh.epoch());
            let files =
                write_client_proofs(&akd, &labels, &o.out, &rel, &o.most_recent, eh.epoch())
                    .await?;
            per_epoch.insert(eh.epoch().to_string(), files);
        }
    }
    let latest = (roots.len() - 1) as u64;

    for (label, epoch) in &o.tombstones {
        storage_handle
            .tombstone_value_states(&AkdLabel(label.clone()), *epoch)
            .await
            .map_err(|e| akd_fail("tombstone_value_states", e))?;
    }

    let files = write_client_proofs(&akd, &labels, &o.out, "", &o.most_recent, latest).await?;

    let mut blobs = Vec::new();
    let mut ranges = Vec::new();
    let mut local_blobs = Vec::new();
    if o.audit {
        for end in 1..=latest {
            let p = akd
                .audit(end - 1, end)
                .await
                .map_err(|e| akd_fail("audit", e))?;
            assert_eq!(p.proofs.len(), 1);
            assert_eq!(p.epochs, vec![end - 1]);
            let name = AuditBlobName {
                epoch: end,
                previous_hash: roots[(end - 1) as usize],
                current_hash: roots[end as usize],
            };
            let file = format!("audit/{end}.bin");
            write_file(&o.out.join(&file), &single_audit_bytes(&p.proofs[0]))?;
            blobs.push(json!({"end_epoch": end, "name": name.to_string(), "file": file}));
        }
        for start in [0u64, 1] {
            if start < latest {
                let p = akd
                    .audit(start, latest)
                    .await
                    .map_err(|e| akd_fail("audit", e))?;
                if start == 0 {
                    // What akd's own local_auditing::generate_audit_blobs would publish.
                    let hashes = roots.clone();
                    let names = akd::local_auditing::generate_audit_blobs(hashes, p.clone())
                        .map_err(|e| akd_fail("generate_audit_blobs", format!("{e:?}")))?;
                    for (i, b) in names.iter().enumerate() {
                        let file = format!("local_auditing/{}.bin", i + 1);
                        write_file(&o.out.join(&file), &b.data)?;
                        local_blobs.push(json!({"name": b.name.to_string(), "file": file}));
                    }
                }
                let file = format!("audit_range_{start}_to_{latest}.bin");
                write_file(&o.out.join(&file), &audit_bytes(&p))?;
                ranges.push(json!({
                    "start": start,
                    "end": latest,
                    "epochs": p.epochs,
                    "hashes": roots[start as usize..=latest as usize]
                        .iter()
                        .map(hex::encode)
                        .collect::<Vec<_>>(),
                    "file": file,
                }));
            }
        }
    }

    let manifest = json!({
        "akd_version": AKD_VERSION,
        "config": o.config_name,
        "domain_label": o.domain_label,
        "vrf_public_key": hex::encode(vrf_pk.as_bytes()),
        "latest_epoch": latest,
        "root_hashes": roots.iter().map(hex::encode).collect::<Vec<_>>(),
        "publishes": publish_results,
        "labels": labels.iter().map(hex::encode).collect::<Vec<_>>(),
        "most_recent": o.most_recent,
        "files": files,
        "epochs": per_epoch,
        "audit_blobs": blobs,
        "audit_ranges": ranges,
        "local_auditing_blobs": local_blobs,
        "tombstones": o
            .tombstones
            .iter()
            .map(|(l, e)| json!([hex::encode(l), e]))
            .collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&manifest).expect("json");
    write_file(&o.out.join("manifest.json"), text.as_bytes())?;
    println!("{}", json!({"latest_epoch": latest, "root_hash": hex::encode(roots[latest as usize])}));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// verify-*

struct ClientArgs {
    vrf_pk: Vec<u8>,
    root: Digest,
    epoch: u64,
    label: AkdLabel,
}

impl ClientArgs {
    fn from(a: &Args) -> Res<ClientArgs> {
        Ok(ClientArgs {
            vrf_pk: a.hex("vrf-pk")?,
            root: a.digest("root")?,
            epoch: a.u64("epoch")?,
            label: a.akd_label()?,
        })
    }
}

/// What a proof file is checked against; one variant per verify-* command.
enum Check {
    Lookup(ClientArgs),
    History(ClientArgs, HistoryVerificationParams),
    Audit(Vec<Digest>),
    /// WhatsApp blob: (end epoch, previous root, current root).
    Blob(u64, Digest, Digest),
    /// glasskey proof of absence: (client args, VRF proof of the label's version 1).
    Absence(ClientArgs, Vec<u8>),
    /// glasskey fixed-version proof: (client args, version).
    Version(ClientArgs, u64),
}

/// akd's own ECVRF verification of `vrf_proof` for (label, freshness, version). akd's public
/// API does not expose the proof's output hash (`Output::to_truncated_bytes` is crate
/// private), so the link from the VRF output to the node label stays glasskey's check; akd
/// checks that the proof is valid for exactly this label input under the VRF key.
fn akd_vrf_check<TC: Configuration>(
    c: &ClientArgs,
    freshness: akd::VersionFreshness,
    version: u64,
    vrf_proof: &[u8],
) -> Result<(), String> {
    let pk = akd::ecvrf::VRFPublicKey::try_from(c.vrf_pk.as_slice()).map_err(|e| format!("vrf key: {e:?}"))?;
    let proof = akd::ecvrf::Proof::try_from(vrf_proof).map_err(|e| format!("vrf proof: {e:?}"))?;
    let alpha = TC::get_hash_from_label_input(&c.label, freshness, version);
    pk.verify(&proof, &alpha).map_err(|e| format!("vrf: {e:?}"))
}

async fn check_proof<TC: Configuration>(check: &Check, proof: &[u8]) -> Result<Value, String> {
    match check {
        Check::Lookup(c) => {
            let p = decode_lookup(proof)?;
            let r = akd::client::lookup_verify::<TC>(&c.vrf_pk, c.root, c.epoch, c.label.clone(), p)
                .map_err(|e| e.to_string())?;
            Ok(result_json(&r))
        }
        Check::History(c, params) => {
            let p = decode_history(proof)?;
            let rs = akd::client::key_history_verify::<TC>(
                &c.vrf_pk,
                c.root,
                c.epoch,
                c.label.clone(),
                p,
                *params,
            )
            .map_err(|e| e.to_string())?;
            Ok(Value::Array(rs.iter().map(result_json).collect()))
        }
        Check::Audit(hashes) => {
            let p = decode_audit(proof)?;
            let epochs = p.epochs.clone();
            akd::auditor::audit_verify::<TC>(hashes.clone(), p)
                .await
                .map_err(|e| e.to_string().trim_end().to_string())?;
            Ok(json!({"verified": true, "epochs": epochs}))
        }
        Check::Absence(c, vrf_proof) => {
            let p = akd::proto::specs::types::NonMembershipProof::parse_from_bytes(proof)
                .map_err(|e| format!("protobuf: {e}"))?;
            let p = akd::NonMembershipProof::try_from(&p).map_err(|e| format!("conversion: {e}"))?;
            akd_vrf_check::<TC>(c, akd::VersionFreshness::Fresh, 1, vrf_proof)?;
            akd_core::verify::verify_nonmembership_for_tests_only::<TC>(c.root, &p)
                .map_err(|e| e.to_string())?;
            Ok(json!({"verified": true, "absent_label": label_json(&p.label)}))
        }
        Check::Version(c, version) => {
            let p = akd::proto::specs::types::UpdateProof::parse_from_bytes(proof)
                .map_err(|e| format!("protobuf: {e}"))?;
            let p = akd::UpdateProof::try_from(&p).map_err(|e| format!("conversion: {e}"))?;
            if p.version != *version {
                return Err(format!("proof is for version {}, not {version}", p.version));
            }
            if p.epoch > c.epoch {
                return Err(format!("proof epoch {} is after the current epoch {}", p.epoch, c.epoch));
            }
            let leaf = TC::hash_leaf_with_value(&p.value, p.epoch, &p.commitment_nonce);
            if leaf.0 != p.existence_proof.hash_val.0 {
                return Err("hash of plaintext value did not match existence proof hash".into());
            }
            akd_vrf_check::<TC>(c, akd::VersionFreshness::Fresh, *version, &p.existence_vrf_proof)?;
            akd_core::verify::verify_membership_for_tests_only::<TC>(c.root, &p.existence_proof)
                .map_err(|e| e.to_string())?;
            Ok(json!({"verified": true, "epoch": p.epoch, "version": p.version,
                      "value_hex": hex::encode(&p.value.0)}))
        }
        Check::Blob(end_epoch, prev, cur) => {
            // As the WhatsApp KT auditor does it (spec 12.3): the epoch in the blob name is
            // the END epoch; the single proof is checked as AppendOnlyProof with [E - 1].
            let single = decode_single_audit(proof)?;
            let p = AppendOnlyProof { proofs: vec![single], epochs: vec![end_epoch - 1] };
            akd::auditor::audit_verify::<TC>(vec![*prev, *cur], p)
                .await
                .map_err(|e| e.to_string().trim_end().to_string())?;
            Ok(json!({"verified": true, "end_epoch": end_epoch}))
        }
    }
}

async fn verify_cmd<TC: Configuration>(check: &Check, proof: &[u8]) -> Res<Value> {
    check_proof::<TC>(check, proof).await.map_err(Failure::Verify)
}

/// Flips every byte of the proof (XOR with each mask) and reports which variants akd still
/// accepts. The untampered proof must verify.
async fn sweep_cmd<TC: Configuration>(check: &Check, proof: &[u8], masks: &[u8]) -> Res<Value> {
    let original = check_proof::<TC>(check, proof)
        .await
        .map_err(|e| Failure::Verify(format!("untampered proof does not verify: {e}")))?;
    let mut changed_result = Vec::new();
    let mut accepted = Vec::new();
    let mut decode_errors = 0usize;
    let mut verify_errors = 0usize;
    let mut buf = proof.to_vec();
    for i in 0..buf.len() {
        for &m in masks {
            buf[i] ^= m;
            match check_proof::<TC>(check, &buf).await {
                Ok(r) => {
                    accepted.push(json!([i, m]));
                    if r != original {
                        changed_result.push(json!([i, m, r]));
                    }
                }
                Err(e) if e.starts_with("protobuf:") || e.starts_with("conversion:") => {
                    decode_errors += 1
                }
                Err(_) => verify_errors += 1,
            }
            buf[i] ^= m;
        }
    }
    Ok(json!({
        "length": proof.len(),
        "masks": masks,
        "variants": proof.len() * masks.len(),
        "accepted": accepted,
        "accepted_with_other_result": changed_result,
        "decode_errors": decode_errors,
        "verify_errors": verify_errors,
    }))
}

// ---------------------------------------------------------------------------------------------
// decode: parse with akd's protobuf + conversion layer, re-encode, describe

fn label_json(l: &akd::NodeLabel) -> Value {
    json!([hex::encode(l.label_val), l.label_len])
}

fn element_json(e: &akd::AzksElement) -> Value {
    json!({"label": label_json(&e.label), "value": hex::encode(e.value.0)})
}

fn single_json(p: &SingleAppendOnlyProof) -> Value {
    json!({
        "inserted": p.inserted.iter().map(element_json).collect::<Vec<_>>(),
        "unchanged_nodes": p.unchanged_nodes.iter().map(element_json).collect::<Vec<_>>(),
    })
}

fn decode_cmd(kind: &str, b: &[u8]) -> Res<Value> {
    let (reencoded, summary) = match kind {
        "lookup" => {
            let p = decode_lookup(b).map_err(Failure::Verify)?;
            let s = json!({"epoch": p.epoch, "version": p.version, "value_hex": hex::encode(&p.value.0)});
            (lookup_bytes(&p), s)
        }
        "history" => {
            let p = decode_history(b).map_err(Failure::Verify)?;
            let s = json!({
                "updates": p.update_proofs.iter()
                    .map(|u| json!({"epoch": u.epoch, "version": u.version, "value_hex": hex::encode(&u.value.0)}))
                    .collect::<Vec<_>>(),
                "past_markers": p.past_marker_vrf_proofs.len(),
                "future_markers": p.future_marker_vrf_proofs.len(),
            });
            (history_bytes(&p), s)
        }
        "single-audit" => {
            let p = decode_single_audit(b).map_err(Failure::Verify)?;
            (single_audit_bytes(&p), single_json(&p))
        }
        "audit" => {
            let p = decode_audit(b).map_err(Failure::Verify)?;
            let s = json!({
                "epochs": p.epochs,
                "proofs": p.proofs.iter().map(single_json).collect::<Vec<_>>(),
            });
            (audit_bytes(&p), s)
        }
        other => return usage(format!("--kind: unknown kind {other:?}")),
    };
    Ok(json!({
        "kind": kind,
        "reencoded_identical": reencoded == b,
        "reencoded_hex": hex::encode(&reencoded),
        "proof": summary,
    }))
}

// ---------------------------------------------------------------------------------------------

const COMMON: &[&str] = &["config", "domain-label"];
const CLIENT: &[&str] = &["vrf-pk", "root", "epoch", "label-hex", "label", "proof"];

fn with(extra: &[&'static str], base: &[&[&'static str]]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = base.iter().flat_map(|s| s.iter().copied()).collect();
    v.extend_from_slice(extra);
    v
}

async fn run(argv: Vec<String>) -> Res<Value> {
    let Some(cmd) = argv.first() else {
        return usage(USAGE);
    };
    let rest = &argv[1..];
    match cmd.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        "generate" => {
            let a = Args::parse(
                rest,
                &with(
                    &["schedule", "out", "most-recent", "every-epoch", "no-audit", "tombstone"],
                    &[COMMON],
                ),
            )?;
            let cfg = a.config()?;
            let most_recent = match a.opt("most-recent") {
                None => vec![1],
                Some(s) => s
                    .split(',')
                    .map(|x| x.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .or_else(|_| usage(format!("--most-recent: bad list {s:?}")))?,
            };
            let mut tombstones = Vec::new();
            if let Some(t) = a.opt("tombstone") {
                for item in t.split(',') {
                    let Some((l, e)) = item.split_once('@') else {
                        return usage("--tombstone: LABEL_HEX@EPOCH[,LABEL_HEX@EPOCH...]");
                    };
                    let e = e
                        .parse::<u64>()
                        .or_else(|_| usage(format!("--tombstone: bad epoch {e:?}")))?;
                    tombstones.push((parse_hex("tombstone", l)?, e));
                }
            }
            let o = GenOpts {
                tombstones,
                schedule: read_schedule(Path::new(a.req("schedule")?))?,
                out: PathBuf::from(a.req("out")?),
                most_recent,
                every_epoch: a.flag("every-epoch"),
                audit: !a.flag("no-audit"),
                config_name: a.req("config")?.to_string(),
                domain_label: match cfg {
                    Cfg::WhatsAppV1 => None,
                    _ => Some(a.opt("domain-label").unwrap_or("ExampleLabel").to_string()),
                },
            };
            fs::create_dir_all(&o.out).map_err(|e| io_err(&o.out, e))?;
            dispatch!(cfg, generate(&o))?;
            Ok(Value::Null)
        }
        "vrf-public-key" => {
            Args::parse(rest, &[])?;
            use akd::ecvrf::VRFKeyStorage;
            let pk = HardCodedAkdVRF {}
                .get_vrf_public_key()
                .await
                .map_err(|e| akd_fail("get_vrf_public_key", e))?;
            Ok(json!(hex::encode(pk.as_bytes())))
        }
        "verify-lookup" | "verify-history" | "verify-absence" | "verify-version" | "verify-audit"
        | "verify-audit-blob" | "tamper-sweep" => {
            let sweep = cmd == "tamper-sweep";
            let mut allowed: Vec<&str> = with(&["proof"], &[COMMON]);
            let kind = if sweep {
                allowed.extend_from_slice(&["kind", "masks"]);
                // peek at --kind to know which other options apply
                let pos = rest.iter().position(|x| x == "--kind");
                match pos.and_then(|p| rest.get(p + 1)) {
                    Some(k) => k.clone(),
                    None => return usage("tamper-sweep needs --kind lookup|history|audit|audit-blob"),
                }
            } else {
                cmd.trim_start_matches("verify-").to_string()
            };
            match kind.as_str() {
                "lookup" => allowed.extend_from_slice(CLIENT),
                "history" => {
                    allowed.extend_from_slice(CLIENT);
                    allowed.extend_from_slice(&["complete", "most-recent", "allow-missing-values"]);
                }
                "absence" => {
                    allowed.extend_from_slice(CLIENT);
                    allowed.push("vrf-proof");
                }
                "version" => {
                    allowed.extend_from_slice(CLIENT);
                    allowed.push("version");
                }
                "audit" => allowed.push("hashes"),
                "audit-blob" => allowed.push("blob-name"),
                other => return usage(format!("--kind: unknown kind {other:?}")),
            }
            let a = Args::parse(rest, &allowed)?;
            let cfg = a.config()?;
            let check = match kind.as_str() {
                "lookup" => Check::Lookup(ClientArgs::from(&a)?),
                "history" => {
                    let history_params = a.history_params()?;
                    let params = if a.flag("allow-missing-values") {
                        HistoryVerificationParams::AllowMissingValues { history_params }
                    } else {
                        HistoryVerificationParams::Default { history_params }
                    };
                    Check::History(ClientArgs::from(&a)?, params)
                }
                "absence" => Check::Absence(ClientArgs::from(&a)?, a.hex("vrf-proof")?),
                "version" => Check::Version(ClientArgs::from(&a)?, a.u64("version")?),
                "audit" => Check::Audit(
                    a.req("hashes")?
                        .split(',')
                        .map(|h| to_digest("hashes", &parse_hex("hashes", h.trim())?))
                        .collect::<Res<Vec<_>>>()?,
                ),
                _ => {
                    let name = AuditBlobName::try_from(a.req("blob-name")?)
                        .or_else(|e| usage(format!("--blob-name: {e:?}")))?;
                    if name.epoch == 0 {
                        return usage("--blob-name: epoch 0 has no predecessor");
                    }
                    Check::Blob(name.epoch, name.previous_hash, name.current_hash)
                }
            };
            let proof = a.proof_bytes()?;
            if sweep {
                let masks = a
                    .opt("masks")
                    .unwrap_or("01")
                    .split(',')
                    .map(|m| u8::from_str_radix(m.trim(), 16))
                    .collect::<Result<Vec<_>, _>>()
                    .or_else(|_| usage("--masks: comma-separated hex bytes, e.g. 01,80"))?;
                dispatch!(cfg, sweep_cmd(&check, &proof, &masks))
            } else {
                dispatch!(cfg, verify_cmd(&check, &proof))
            }
        }
        "decode" => {
            let a = Args::parse(rest, &["kind", "proof"])?;
            decode_cmd(a.req("kind")?, &a.proof_bytes()?)
        }
        other => usage(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(argv)) {
        Ok(Value::Null) => {}
        Ok(v) => println!("{v}"),
        Err(Failure::Verify(msg)) => {
            eprintln!("verification failed: {}", msg.trim_end());
            std::process::exit(1);
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("akd-interop: {}", msg.trim_end());
            std::process::exit(2);
        }
    }
}
