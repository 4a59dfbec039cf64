//! `akd-bench`: the akd side of glasskey's side-by-side benchmark (bench/vs_akd/run.py).
//!
//! Runs the published `akd` crate (0.12.0, `whatsapp_v1`, `HardCodedAkdVRF`, in-memory storage
//! behind a caching `StorageManager`, as akd's own benches set it up) on one thread over the
//! workloads of bench/vs_akd/workloads.py — the same labels, values and epochs the glasskey
//! side publishes — and prints one JSON object: the timings, the root hash of every epoch,
//! and the protobuf bytes of every proof it timed, so run.py can check that both sides agree
//! byte for byte.
//!
//! usage: akd-bench --base N --updates U --lookups L --history-reps H --vrf V

use std::collections::HashMap;
use std::time::Duration;

use akd::append_only_zks::AzksParallelismConfig;
use akd::ecvrf::{HardCodedAkdVRF, VRFExpandedPrivateKey, VRFKeyStorage, VRFPublicKey};
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::storage::StorageManager;
use akd::{
    AkdLabel, AkdValue, AppendOnlyProof, Directory, HistoryParams, HistoryVerificationParams,
    LookupProof, SingleAppendOnlyProof, VersionFreshness, WhatsAppV1Configuration,
};
use protobuf::Message;
use serde_json::{json, Map, Value};

type TC = WhatsAppV1Configuration;
type Db = AsyncInMemoryDatabase;

/// The workload parameters (bench/vs_akd/workloads.py documents them; keep the two in step).
struct Params {
    base: usize,
    updates: usize,
    lookups: usize,
    history_reps: usize,
    vrf: usize,
}

fn parse_args() -> Params {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut m: HashMap<String, usize> = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a.strip_prefix("--").unwrap_or_else(|| panic!("unexpected argument {a:?}"));
        let v = it.next().unwrap_or_else(|| panic!("--{name} needs a value"));
        m.insert(name.to_string(), v.parse().expect("an unsigned integer"));
    }
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("missing --{k}"));
    Params {
        base: get("base"),
        updates: get("updates"),
        lookups: get("lookups"),
        history_reps: get("history-reps"),
        vrf: get("vrf"),
    }
}

/// Labels and values exactly as workloads.py makes them.
fn base_batch(p: &Params) -> Vec<(AkdLabel, AkdValue)> {
    (0..p.base)
        .map(|i| (AkdLabel(format!("user-{i}").into_bytes()), AkdValue(format!("key1-{i}").into_bytes())))
        .collect()
}

fn update_batch(p: &Params) -> Vec<(AkdLabel, AkdValue)> {
    let half = p.updates / 2;
    let mut out: Vec<(AkdLabel, AkdValue)> = (0..half)
        .map(|i| (AkdLabel(format!("user-{i}").into_bytes()), AkdValue(format!("key2-{i}").into_bytes())))
        .collect();
    out.extend((0..p.updates - half).map(|i| {
        (AkdLabel(format!("new-{i}").into_bytes()), AkdValue(format!("key1-new-{i}").into_bytes()))
    }));
    out
}

/// The labels looked up: spread over the updated, the untouched and the new labels.
fn lookup_labels(p: &Params) -> Vec<AkdLabel> {
    let half = p.updates / 2;
    (0..p.lookups)
        .map(|j| match j % 3 {
            0 => format!("user-{}", (j * 7919) % half.max(1)),
            1 => format!("user-{}", half + (j * 7919) % (p.base - half).max(1)),
            _ => format!("new-{}", (j * 7919) % (p.updates - half).max(1)),
        })
        .map(|s| AkdLabel(s.into_bytes()))
        .collect()
}

const HISTORY_LABEL: &str = "user-7";
/// Versions 3..=10 of HISTORY_LABEL, one epoch each (it has 1 from the base, 2 from the updates).
const HISTORY_VERSIONS: std::ops::RangeInclusive<u32> = 3..=10;

/// CPU time of this process (CLOCK_PROCESS_CPUTIME_ID, as Python's time.process_time on the
/// glasskey side): on a shared machine, wall-clock time mostly measures the neighbours.
#[derive(Clone, Copy)]
struct Instant(Duration);

impl Instant {
    fn now() -> Instant {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into the valid pointer given.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime");
        Instant(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    fn elapsed(&self) -> Duration {
        Instant::now().0 - self.0
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmHWM:") {
            let kb: f64 = rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0.0);
            return kb / 1024.0;
        }
    }
    0.0
}

async fn run(p: &Params) -> Value {
    let mut t = Map::new();
    let db = StorageManager::new(
        AsyncInMemoryDatabase::new(),
        Some(Duration::from_secs(600)),
        None,
        Some(Duration::from_secs(600)),
    );
    let akd = Directory::<TC, Db, HardCodedAkdVRF>::new(db, HardCodedAkdVRF {}, AzksParallelismConfig::default())
        .await
        .expect("Directory::new");
    let vrf_pk = akd.get_public_key().await.expect("public key");
    let pk_bytes = vrf_pk.as_bytes().to_vec();
    let mut roots = vec![hex::encode(akd.get_epoch_hash().await.unwrap().hash())];

    let start = Instant::now();
    let eh = akd.publish(base_batch(p)).await.expect("base publish");
    t.insert("base_s".into(), json!(secs(start.elapsed())));
    roots.push(hex::encode(eh.hash()));

    let start = Instant::now();
    let eh = akd.publish(update_batch(p)).await.expect("update publish");
    t.insert("publish_s".into(), json!(secs(start.elapsed())));
    roots.push(hex::encode(eh.hash()));

    // Lookups against epoch 2.
    let labels = lookup_labels(p);
    let start = Instant::now();
    let mut proofs: Vec<LookupProof> = Vec::with_capacity(labels.len());
    for l in &labels {
        proofs.push(akd.lookup(l.clone()).await.expect("lookup").0);
    }
    t.insert("lookup_gen_s".into(), json!(secs(start.elapsed()) / labels.len() as f64));

    let start = Instant::now();
    let encoded: Vec<Vec<u8>> = proofs
        .iter()
        .map(|pr| akd::proto::specs::types::LookupProof::from(pr).write_to_bytes().unwrap())
        .collect();
    t.insert("lookup_encode_s".into(), json!(secs(start.elapsed()) / labels.len() as f64));

    let root = eh.hash();
    let epoch = eh.epoch();
    let start = Instant::now();
    for (l, pr) in labels.iter().zip(proofs.iter()) {
        akd::client::lookup_verify::<TC>(&pk_bytes, root, epoch, l.clone(), pr.clone()).expect("lookup verify");
    }
    t.insert("lookup_verify_s".into(), json!(secs(start.elapsed()) / labels.len() as f64));

    let start = Instant::now();
    for (l, b) in labels.iter().zip(encoded.iter()) {
        let m = akd::proto::specs::types::LookupProof::parse_from_bytes(b).unwrap();
        let pr = LookupProof::try_from(&m).unwrap();
        akd::client::lookup_verify::<TC>(&pk_bytes, root, epoch, l.clone(), pr).expect("lookup verify");
    }
    t.insert("lookup_verify_bytes_s".into(), json!(secs(start.elapsed()) / labels.len() as f64));

    // Audit of the update epoch (1 -> 2), before the history epochs are added.
    let start = Instant::now();
    let audit = akd.audit(1, 2).await.expect("audit");
    t.insert("audit_gen_s".into(), json!(secs(start.elapsed())));
    let blob = akd::proto::specs::types::SingleAppendOnlyProof::from(&audit.proofs[0])
        .write_to_bytes()
        .unwrap();
    let hashes = vec![
        hex::decode(&roots[1]).unwrap().try_into().unwrap(),
        hex::decode(&roots[2]).unwrap().try_into().unwrap(),
    ];
    let start = Instant::now();
    akd::auditor::audit_verify::<TC>(hashes.clone(), audit.clone()).await.expect("audit verify");
    t.insert("audit_verify_s".into(), json!(secs(start.elapsed())));
    let start = Instant::now();
    let m = akd::proto::specs::types::SingleAppendOnlyProof::parse_from_bytes(&blob).unwrap();
    let single = SingleAppendOnlyProof::try_from(&m).unwrap();
    let decoded = AppendOnlyProof { proofs: vec![single], epochs: vec![1] };
    akd::auditor::audit_verify::<TC>(hashes, decoded).await.expect("audit verify (blob)");
    t.insert("audit_verify_blob_s".into(), json!(secs(start.elapsed())));

    // History: 8 more versions of one label, one epoch each.
    let hl = AkdLabel(HISTORY_LABEL.as_bytes().to_vec());
    let mut last = eh;
    for v in HISTORY_VERSIONS {
        last = akd
            .publish(vec![(hl.clone(), AkdValue(format!("key{v}-7").into_bytes()))])
            .await
            .expect("history publish");
        roots.push(hex::encode(last.hash()));
    }
    let start = Instant::now();
    let mut history = None;
    for _ in 0..p.history_reps {
        history = Some(akd.key_history(&hl, HistoryParams::Complete).await.expect("history").0);
    }
    t.insert("history_gen_s".into(), json!(secs(start.elapsed()) / p.history_reps as f64));
    let history = history.unwrap();
    let history_bytes = akd::proto::specs::types::HistoryProof::from(&history).write_to_bytes().unwrap();
    let start = Instant::now();
    for _ in 0..p.history_reps {
        akd::client::key_history_verify::<TC>(
            &pk_bytes,
            last.hash(),
            last.epoch(),
            hl.clone(),
            history.clone(),
            HistoryVerificationParams::default(),
        )
        .expect("history verify");
    }
    t.insert("history_verify_s".into(), json!(secs(start.elapsed()) / p.history_reps as f64));

    // The VRF alone, one core: node label (output) and proof of (label, fresh, 1).
    let key = HardCodedAkdVRF {}.get_vrf_private_key().await.unwrap();
    let expanded = VRFExpandedPrivateKey::from(&key);
    let pk = VRFPublicKey::from(&key);
    let vrf_labels: Vec<AkdLabel> = (0..p.vrf).map(|i| AkdLabel(format!("vrf-{i}").into_bytes())).collect();
    let start = Instant::now();
    let mut outputs = Vec::with_capacity(p.vrf);
    for l in &vrf_labels {
        outputs.push(HardCodedAkdVRF::get_node_label_with_expanded_key::<TC>(
            &expanded, &pk, l, VersionFreshness::Fresh, 1,
        ));
    }
    t.insert("vrf_output_s".into(), json!(secs(start.elapsed()) / p.vrf as f64));
    let start = Instant::now();
    let mut vrf_proofs = Vec::with_capacity(p.vrf);
    for l in &vrf_labels {
        vrf_proofs.push(HardCodedAkdVRF::get_label_proof_with_key::<TC>(&key, l, VersionFreshness::Fresh, 1));
    }
    t.insert("vrf_proof_s".into(), json!(secs(start.elapsed()) / p.vrf as f64));

    t.insert("peak_rss_mib".into(), json!(peak_rss_mib()));
    json!({
        "side": "akd",
        "timings": t,
        "roots": roots,
        "lookup_proofs": encoded.iter().map(hex::encode).collect::<Vec<_>>(),
        "history_proof": hex::encode(history_bytes),
        "audit_blob": hex::encode(&blob),
        "vrf_outputs": outputs.iter().map(|n| hex::encode(n.label_val)).collect::<Vec<_>>(),
        "vrf_proofs": vrf_proofs.iter().map(|pr| hex::encode(pr.to_bytes())).collect::<Vec<_>>(),
    })
}

fn main() {
    let p = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let out = rt.block_on(run(&p));
    println!("{out}");
}
