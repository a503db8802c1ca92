//! `forklore explain`: the model's prediction rendered for people and as JSON.

use forklore_model::flags::signal_name;
use forklore_model::{Context, Outcome, Prediction, Request, Syscall};
use serde_json::{json, Value};
use std::fmt::Write;

/// The explain object (also `expected` in probe and check reports).
pub fn explain_json(req: &Request, ctx: &Context, p: &Prediction) -> Value {
    let (outcome, errno, errno_value) = match &p.outcome {
        Outcome::Success(_) => ("success", Value::Null, Value::Null),
        Outcome::Error { errno } => (
            "error",
            errno.name().map(Value::from).unwrap_or(Value::Null),
            Value::from(errno.0),
        ),
        Outcome::Environment { .. } => ("environment", Value::Null, Value::Null),
    };
    let rule = p.rule.as_ref();
    json!({
        "syscall": req.syscall.name(),
        "flags": format!("{:#x}", req.flags),
        "flags_names": req.flags_display(),
        "exit_signal": req.clone3.as_ref().map(|c| c.exit_signal),
        "kernel": ctx.kernel.to_string(),
        "arch": ctx.arch.name(),
        "outcome": outcome,
        "errno": errno,
        "errno_value": errno_value,
        "rule": rule.map(|r| r.id),
        "reason": match &p.outcome {
            Outcome::Environment { reason } => Some(reason.as_str()),
            _ => rule.map(|r| r.reason),
        },
        "source": rule.map(|r| r.source),
        "function": rule.map(|r| r.function),
        "versions": rule.map(|r| r.versions.iter().map(|v| v.to_string()).collect::<Vec<_>>()),
        "arches": rule.map(|r| r.arches.iter().map(|a| a.name()).collect::<Vec<_>>()),
        "uncertain": rule.and_then(|r| r.uncertain),
        "checked": p.checked,
        "semantics": match &p.outcome {
            Outcome::Success(s) => serde_json::to_value(s).unwrap_or(Value::Null),
            _ => Value::Null,
        },
    })
}

/// One-line description of who the caller is.
pub fn context_summary(ctx: &Context) -> String {
    let mut s = if ctx.ruid_is_global_root && ctx.userns_level == 0 {
        "root".to_string()
    } else if ctx.userns_level > 0 {
        format!("uid in a user namespace (level {})", ctx.userns_level)
    } else {
        "an unprivileged user".to_string()
    };
    let mut extra = Vec::new();
    if ctx.is_pidns_init {
        extra.push("pid-namespace init".to_string());
    }
    if ctx.pidns_for_children_differs {
        extra.push("after unshare(CLONE_NEWPID)".to_string());
    }
    if ctx.chrooted {
        extra.push("chrooted".to_string());
    }
    if let Some(n) = ctx.nproc {
        extra.push(format!("RLIMIT_NPROC {} with {} tasks", n.limit, n.count));
    }
    if ctx.userns_limit_reached {
        extra.push("max_user_namespaces reached".to_string());
    }
    if ctx.seccomp_filter {
        extra.push("seccomp filter".to_string());
    }
    if ctx.caller_traced {
        extra.push("ptraced".to_string());
    }
    if !extra.is_empty() {
        let _ = write!(s, " ({})", extra.join(", "));
    }
    s
}

/// `clone(CLONE_THREAD|CLONE_SIGHAND)` / `clone3({flags=..., exit_signal=...}, 88)`.
pub fn call_summary(req: &Request) -> String {
    match (&req.syscall, &req.clone3) {
        (Syscall::Clone3, Some(c)) => format!(
            "clone3({{flags={}, exit_signal={}}}, size={})",
            req.flags_display(),
            signal_name(c.exit_signal),
            c.size
        ),
        (Syscall::Clone, _) => format!("clone({})", req.flags_display()),
        (s, _) => format!("{s}()"),
    }
}

/// Human text for `forklore explain`.
pub fn explain_text(req: &Request, ctx: &Context, p: &Prediction) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on Linux {} {} as {}",
        call_summary(req),
        ctx.kernel,
        ctx.arch,
        context_summary(ctx)
    );
    if req.syscall == Syscall::Clone {
        // The raw argument order differs per architecture (no errno does).
        let _ = writeln!(
            out,
            "abi:       clone({}){}",
            ctx.arch.legacy_clone_order().join(", "),
            if ctx.arch.clone_backwards() {
                " (CONFIG_CLONE_BACKWARDS)"
            } else {
                ""
            }
        );
    }
    let verdict = match &p.outcome {
        Outcome::Success(_) => "success".to_string(),
        Outcome::Error { errno } => format!("{errno} ({})", errno.0),
        Outcome::Environment { reason } => format!("depends on the environment: {reason}"),
    };
    let _ = writeln!(out, "verdict:   {verdict}");
    if let Some(r) = &p.rule {
        let _ = writeln!(out, "rule:      {}: {}", r.id, r.reason);
        let _ = writeln!(out, "where:     {}", r.function);
        let vs: Vec<String> = r.versions.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(out, "versions:  {}", vs.join(", "));
        if r.arches != forklore_model::ALL_ARCHES {
            let a: Vec<&str> = r.arches.iter().map(|a| a.name()).collect();
            let _ = writeln!(out, "arches:    {} only", a.join(", "));
        }
        let _ = writeln!(out, "source:    {}", r.source);
        if let Some(u) = r.uncertain {
            let _ = writeln!(out, "uncertain: {u}");
        }
    }
    if let Outcome::Success(s) = &p.outcome {
        let mut facts = vec![
            if s.same_thread_group {
                "a thread in the caller's thread group".to_string()
            } else {
                "a new process".to_string()
            },
            format!(
                "parent: {}",
                match s.parent {
                    forklore_model::Parent::Caller => "the caller",
                    forklore_model::Parent::CallersParent => "the caller's parent",
                }
            ),
            format!(
                "exit_signal {}",
                if s.exit_signal < 0 {
                    "-1 (none)".to_string()
                } else {
                    signal_name(s.exit_signal as u64)
                }
            ),
            format!("reaped by: {:?}", s.reaped_by).to_lowercase(),
        ];
        if let Some(k) = s.pidfd {
            facts.push(format!("pidfd: {k:?}").to_lowercase());
        }
        if s.new_pid_ns {
            facts.push("init of a new pid namespace".into());
        }
        if s.caller_suspended {
            facts.push("caller suspended until the child execs or exits".into());
        }
        if let Some(t) = s.tracer {
            let who = match t {
                forklore_model::ptrace::Tracer::CallersTracer => "traced by the caller's tracer",
                _ => "not traced",
            };
            let r = forklore_model::ptrace::rule("P-CLONE-PTRACE");
            facts.push(format!(
                "{who} (P-CLONE-PTRACE, {})",
                r.map(|r| r.function).unwrap_or("")
            ));
        }
        let _ = writeln!(out, "child:     {}", facts.join("; "));
    }
    let _ = writeln!(
        out,
        "checked:   {}",
        if p.checked.is_empty() {
            "(none before it)".to_string()
        } else {
            p.checked.join(" ")
        }
    );
    out
}
