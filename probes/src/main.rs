//! `forklore-probe __probe`: a probe process on its own (the forklore CLI
//! and test binaries can be probes too, through `forklore_probe::probe_main`).

#![forbid(unsafe_code)]

fn main() {
    let argv1 = std::env::args().nth(1);
    if argv1.as_deref() == Some("__probe") {
        std::process::exit(forklore_probe::probe_main());
    }
    eprintln!("forklore-probe: run by forklore (usage: forklore-probe __probe < batch)");
    std::process::exit(2);
}
