//! Zombies and NSpid in procfs (model-spec §3.9).

use crate::case::{ename, Abort, Check, Ctx, Facts, STEP};
use crate::util::{self, fork_child, pipe, proc_view, until_zombie};
use forklore_model::lifecycle as lm;
use forklore_model::lifecycle::Expect;
use forklore_sys as sys;

pub fn zombie_state(_: &Ctx) -> Result<Check, Abort> {
    let c = fork_child(|| 0)?;
    until_zombie(c)?;
    let mut f = Facts::new();
    f.add("stat_state", lm::proc_after_death(false), proc_view(c));
    let status_state = util::status_field(&c.to_string(), "State").and_then(|s| s.chars().next());
    f.add(
        "status_state",
        lm::proc_after_death(false),
        status_state
            .map(lm::ProcView::State)
            .unwrap_or(lm::ProcView::Gone),
    );
    sys::wait4(c, 0).map_err(|e| Abort::Broken(ename(e)))?;
    f.add("after_reap", lm::proc_after_death(true), proc_view(c));
    f.done()
}

fn read_nspid(pid: &str) -> Vec<i64> {
    util::status_field(pid, "NSpid")
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn nspid(_: &Ctx) -> Result<Check, Abort> {
    let mine = read_nspid("self");
    if mine.len() != 1 {
        return Err(Abort::Skip(format!("the runner is itself in a nested pid namespace (NSpid {mine:?}) and /proc may belong to another level")));
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)?;
    let (r, w) = pipe()?;
    let init = fork_child(move || {
        let _ = util::read_byte(&r, STEP * 2);
        0
    })?;
    let seen = read_nspid(&init.to_string());
    util::write_all(&w, b"x")?;
    let _ = util::reap_within(init, STEP)?;
    let n = lm::nspid_entries(1);
    let mut f = Facts::new();
    f.add("entries", n, seen.len());
    f.add(
        "outermost_is_our_view",
        Expect {
            value: Some(init as i64),
            rule: n.rule,
        },
        seen.first().copied(),
    );
    f.add(
        "innermost_is_init",
        Expect {
            value: Some(1i64),
            rule: n.rule,
        },
        seen.last().copied(),
    );
    f.done()
}
