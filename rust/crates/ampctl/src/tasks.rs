//! `ampctl tasks`: the statistics of the firmware's periodic tasks, read
//! with the control protocol's TASK request (one per task; the first
//! answer says how many there are).

use amp_control::{Request, Response, TaskInfo};
use anyhow::{bail, Result};

/// The most tasks a firmware of the runtime has (`rtd_amp_rt::sched::MAX_TASKS`
/// is 8): a bound, so a hostile count cannot keep the loop going.
const MAX_TASKS: u32 = 64;

/// Asks for every task with `call` (a TASK request, its answer).
pub fn fetch(call: &mut dyn FnMut(Request) -> Result<Response>) -> Result<Vec<TaskInfo>> {
    let mut out = Vec::new();
    let mut index = 0;
    loop {
        let t = match call(Request::Task { index })? {
            Response::Task(t) => t,
            Response::Error { code, .. } => {
                bail!("the firmware refused TASK: {code} (not built on the rtd-amp-rt application API?)")
            }
            r => bail!("unexpected answer to TASK: {r:?}"),
        };
        if t.index != index {
            bail!("TASK {index} answered for task {}", t.index);
        }
        if index >= t.count.min(MAX_TASKS) {
            return Ok(out);
        }
        out.push(t);
        index += 1;
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// One line per task, `key=value` fields after the name (easy to read in
/// a shell), lateness in microseconds.
pub fn line(t: &TaskInfo) -> String {
    let mean = if t.runs == 0 {
        0.0
    } else {
        us(t.late_sum_ns) / t.runs as f64
    };
    format!(
        "{} period_us={} runs={} overruns={} worst_late_us={:.1} last_late_us={:.1} mean_late_us={:.1}",
        t.name_str(),
        t.period_us,
        t.runs,
        t.overruns,
        us(t.worst_late_ns),
        us(t.last_late_ns),
        mean
    )
}

/// The tasks as JSON.
pub fn json(tasks: &[TaskInfo]) -> serde_json::Value {
    serde_json::Value::Array(
        tasks
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name_str(), "period_us": t.period_us, "runs": t.runs,
                    "overruns": t.overruns, "worst_late_ns": t.worst_late_ns,
                    "last_late_ns": t.last_late_ns, "late_sum_ns": t.late_sum_ns,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use amp_control::{ErrorCode, TASK_NAME_LEN};

    fn task(index: u32, count: u32, name: &str) -> TaskInfo {
        let mut n = [0u8; TASK_NAME_LEN];
        n[..name.len()].copy_from_slice(name.as_bytes());
        TaskInfo {
            index,
            count,
            period_us: 1000,
            overruns: 1,
            runs: 4,
            worst_late_ns: 2500,
            last_late_ns: 1000,
            late_sum_ns: 6000,
            name: n,
        }
    }

    #[test]
    fn fetches_every_task_then_stops() {
        let mut asked = Vec::new();
        let got = fetch(&mut |r| {
            let Request::Task { index } = r else {
                panic!("{r:?}")
            };
            asked.push(index);
            Ok(Response::Task(if index < 2 {
                task(index, 2, ["tick", "blink"][index as usize])
            } else {
                TaskInfo {
                    index,
                    count: 2,
                    ..TaskInfo::default()
                }
            }))
        })
        .unwrap();
        assert_eq!(asked, [0, 1, 2]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            line(&got[1]),
            "blink period_us=1000 runs=4 overruns=1 worst_late_us=2.5 last_late_us=1.0 mean_late_us=1.5"
        );
        assert_eq!(json(&got)[0]["name"], "tick");
    }

    #[test]
    fn refusals_and_hostile_answers() {
        let e = fetch(&mut |_| {
            Ok(Response::Error {
                code: ErrorCode::Unsupported,
                opcode: amp_control::op::TASK,
            })
        })
        .unwrap_err();
        assert!(e.to_string().contains("refused TASK"), "{e}");
        // A count that never ends is bounded.
        let got = fetch(&mut |r| {
            let Request::Task { index } = r else { panic!() };
            Ok(Response::Task(task(index, u32::MAX, "x")))
        })
        .unwrap();
        assert_eq!(got.len(), MAX_TASKS as usize);
        // An answer for another task is refused.
        let e = fetch(&mut |_| Ok(Response::Task(task(5, 9, "x")))).unwrap_err();
        assert!(e.to_string().contains("answered for task 5"), "{e}");
    }
}
