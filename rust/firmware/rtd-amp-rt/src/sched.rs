//! Timers and periodic tasks on the generic timer, with per-task
//! statistics (runs, worst and last lateness, missed periods). Pure logic
//! over counter ticks, so host tests drive it with a simulated clock; the
//! runtime's main loop arms the timer for [`Sched::next_deadline`] and
//! calls [`Sched::run_due`] when it wakes.
//!
//! A task is due at its deadline; it runs from the main loop (never in an
//! exception handler), so its lateness is the time from the deadline to
//! the moment it starts: the timer interrupt's latency plus whatever the
//! loop was doing (a message being served, another task). After a run the
//! next deadline is one period later on the task's grid; when that one
//! has passed too, the periods missed are counted as overruns and
//! skipped, so a task never runs in a burst to catch up.

use amp_control::{TaskInfo, TASK_NAME_LEN};

use crate::control::TaskTable;

/// A task: called with the loop's context each time it is due. Every
/// `FnMut(&mut C)` closure is one.
pub trait Task<C> {
    /// Runs the task once.
    fn run(&mut self, cx: &mut C);
}

impl<C, F: FnMut(&mut C)> Task<C> for F {
    fn run(&mut self, cx: &mut C) {
        self(cx)
    }
}

/// Tasks one application can register.
pub const MAX_TASKS: usize = 8;

/// A task's statistics, in counter ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Times the task ran.
    pub runs: u64,
    /// Periods skipped because the task was a whole period late.
    pub overruns: u32,
    /// Worst lateness.
    pub worst_late: u64,
    /// Lateness of the last run.
    pub last_late: u64,
    /// Sum of the lateness of every run.
    pub late_sum: u64,
}

struct Slot<'a, C> {
    name: &'static str,
    period_us: u32,
    /// Period in ticks (0: a one-shot timer).
    period: u64,
    /// Delay before the first run, in ticks.
    first: u64,
    /// Next deadline (meaningful when armed).
    next: u64,
    armed: bool,
    stats: TaskStats,
    run: &'a mut dyn Task<C>,
}

/// Why a task was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedError {
    /// [`MAX_TASKS`] are registered already.
    Full,
    /// A periodic task needs a period of at least one microsecond.
    ZeroPeriod,
}

/// The task table: up to [`MAX_TASKS`] tasks, each called with a `&mut C`.
pub struct Sched<'a, C> {
    slots: [Option<Slot<'a, C>>; MAX_TASKS],
    count: usize,
    /// Counter ticks per second.
    freq: u64,
}

impl<'a, C> Sched<'a, C> {
    /// An empty table for a counter of `freq` Hz.
    pub fn new(freq: u64) -> Self {
        Sched {
            slots: [const { None }; MAX_TASKS],
            count: 0,
            freq: freq.max(1),
        }
    }

    /// Ticks of `us` microseconds (rounded up, so a deadline is never
    /// early). In 64 bits without overflow for any `u32` period and any
    /// counter up to 4 GHz; no 128-bit division (its helper costs about
    /// 700 bytes of code).
    pub fn ticks(&self, us: u64) -> u64 {
        let (s, rest) = (us / 1_000_000, us % 1_000_000);
        s * self.freq + (rest * self.freq).div_ceil(1_000_000)
    }

    /// Nanoseconds of `ticks` (whole seconds first, so no overflow for
    /// centuries of ticks).
    pub fn ns(&self, ticks: u64) -> u64 {
        let (s, rest) = (ticks / self.freq, ticks % self.freq);
        s.saturating_mul(1_000_000_000) + rest * 1_000_000_000 / self.freq
    }

    fn add(
        &mut self,
        name: &'static str,
        period_us: u32,
        first_us: u64,
        run: &'a mut dyn Task<C>,
    ) -> Result<usize, SchedError> {
        if self.count == MAX_TASKS {
            return Err(SchedError::Full);
        }
        let i = self.count;
        self.slots[i] = Some(Slot {
            name,
            period_us,
            period: self.ticks(u64::from(period_us)),
            first: self.ticks(first_us),
            next: 0,
            armed: false,
            stats: TaskStats::default(),
            run,
        });
        self.count += 1;
        Ok(i)
    }

    /// Adds a task run every `period_us` microseconds, the first time one
    /// period after [`Sched::start`]; returns its index.
    pub fn periodic(
        &mut self,
        name: &'static str,
        period_us: u32,
        run: &'a mut dyn Task<C>,
    ) -> Result<usize, SchedError> {
        if period_us == 0 {
            return Err(SchedError::ZeroPeriod);
        }
        self.add(name, period_us, u64::from(period_us), run)
    }

    /// Adds a one-shot timer run once, `delay_us` after [`Sched::start`].
    pub fn timer(
        &mut self,
        name: &'static str,
        delay_us: u64,
        run: &'a mut dyn Task<C>,
    ) -> Result<usize, SchedError> {
        self.add(name, 0, delay_us, run)
    }

    /// Arms every task relative to `now`.
    pub fn start(&mut self, now: u64) {
        for s in self.slots.iter_mut().flatten() {
            s.next = now.saturating_add(s.first);
            s.armed = true;
        }
    }

    /// Tasks registered.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no task is registered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The earliest deadline of an armed task.
    pub fn next_deadline(&self) -> Option<u64> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.armed)
            .map(|s| s.next)
            .min()
    }

    /// Runs every task whose deadline has passed, in registration order,
    /// each with the counter read by `now` just before it starts; returns
    /// how many ran.
    #[inline(never)]
    pub fn run_due(&mut self, now: &mut dyn FnMut() -> u64, cx: &mut C) -> usize {
        let mut ran = 0;
        for s in self.slots.iter_mut().flatten() {
            if !s.armed {
                continue;
            }
            let start = now();
            if start < s.next {
                continue;
            }
            let late = start - s.next;
            let st = &mut s.stats;
            st.runs += 1;
            st.last_late = late;
            st.worst_late = st.worst_late.max(late);
            st.late_sum = st.late_sum.saturating_add(late);
            if let Some(missed) = late.checked_div(s.period) {
                // Back onto the grid: the deadlines already passed are
                // missed periods, not runs owed.
                st.overruns = st
                    .overruns
                    .saturating_add(u32::try_from(missed).unwrap_or(u32::MAX));
                s.next = s.next.saturating_add((missed + 1) * s.period);
            } else {
                // A one-shot timer (period 0).
                s.armed = false;
            }
            s.run.run(cx);
            ran += 1;
        }
        ran
    }

    /// Statistics of task `index`.
    pub fn stats(&self, index: usize) -> Option<(&'static str, u32, TaskStats)> {
        self.slots
            .get(index)?
            .as_ref()
            .map(|s| (s.name, s.period_us, s.stats))
    }
}

impl<C> TaskTable for Sched<'_, C> {
    fn task_info(&self, index: u32) -> TaskInfo {
        let mut t = TaskInfo {
            index,
            count: self.count as u32,
            ..TaskInfo::default()
        };
        if let Some((name, period_us, s)) = self.stats(index as usize) {
            let n = name.len().min(TASK_NAME_LEN);
            t.name[..n].copy_from_slice(&name.as_bytes()[..n]);
            t.period_us = period_us;
            t.overruns = s.overruns;
            t.runs = s.runs;
            t.worst_late_ns = self.ns(s.worst_late);
            t.last_late_ns = self.ns(s.last_late);
            t.late_sum_ns = self.ns(s.late_sum);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const FREQ: u64 = 62_500_000; // QEMU virt's CNTFRQ

    #[test]
    fn ticks_and_nanoseconds() {
        let s = Sched::<()>::new(FREQ);
        assert_eq!(s.ticks(1000), 62_500);
        assert_eq!(s.ticks(1), 63, "rounded up: never early");
        assert_eq!(s.ns(62_500), 1_000_000);
        assert_eq!(Sched::<()>::new(24_000_000).ticks(1_000_000), 24_000_000);
        assert_eq!(
            s.ticks(u64::from(u32::MAX)),
            268_435_455_938,
            "4294.967295 s, rounded up"
        );
        let big = 3 * 3600 * FREQ + 12_345; // three hours and a bit
        assert_eq!(s.ns(big), 3 * 3600 * 1_000_000_000 + 197_520);
    }

    #[test]
    fn periodic_task_runs_on_its_grid_with_lateness_and_overruns() {
        let mut log = Vec::new();
        let mut f = |c: &mut Vec<u64>| c.push(1);
        let mut s = Sched::new(1_000_000); // 1 tick = 1 µs
        assert_eq!(s.periodic("tick", 100, &mut f), Ok(0));
        s.start(1000);
        assert_eq!(s.next_deadline(), Some(1100));
        // Not due yet.
        assert_eq!(s.run_due(&mut || 1099, &mut log), 0);
        // 5 ticks late.
        assert_eq!(s.run_due(&mut || 1105, &mut log), 1);
        assert_eq!(s.next_deadline(), Some(1200), "on the grid, not 1205");
        // On time.
        assert_eq!(s.run_due(&mut || 1200, &mut log), 1);
        // 250 late: the deadlines 1400 and 1500 passed too: two overruns,
        // one run, next on the grid after now.
        assert_eq!(s.run_due(&mut || 1550, &mut log), 1);
        assert_eq!(s.next_deadline(), Some(1600));
        let (name, period, st) = s.stats(0).unwrap();
        assert_eq!((name, period), ("tick", 100));
        assert_eq!(
            st,
            TaskStats {
                runs: 3,
                overruns: 2,
                worst_late: 250,
                last_late: 250,
                late_sum: 255,
            }
        );
        assert_eq!(log.len(), 3);
        let info = s.task_info(0);
        assert_eq!(info.name_str(), "tick");
        assert_eq!((info.count, info.runs, info.overruns), (1, 3, 2));
        assert_eq!(info.worst_late_ns, 250_000);
        assert_eq!(info.late_sum_ns, 255_000);
        // Past the end: only count.
        assert_eq!(
            s.task_info(1),
            TaskInfo {
                index: 1,
                count: 1,
                ..TaskInfo::default()
            }
        );
    }

    #[test]
    fn one_shot_timer_runs_once_and_tasks_run_in_order() {
        let order = Cell::new(0u32);
        let mut a = |c: &mut Vec<&str>| c.push("a");
        let mut b = |c: &mut Vec<&str>| c.push("b");
        let mut s = Sched::new(1_000_000);
        s.periodic("a", 10, &mut a).unwrap();
        s.timer("b", 5, &mut b).unwrap();
        s.start(0);
        assert_eq!(s.next_deadline(), Some(5));
        let mut seen = Vec::new();
        let mut clock = || {
            order.set(order.get() + 1);
            20
        };
        assert_eq!(s.run_due(&mut clock, &mut seen), 2);
        assert_eq!(seen, ["a", "b"]);
        assert_eq!(s.next_deadline(), Some(30), "the timer is disarmed");
        assert_eq!(s.run_due(&mut || 40, &mut seen), 1);
        assert_eq!(seen, ["a", "b", "a"]);
        assert_eq!(s.stats(1).unwrap().2.runs, 1);
        assert_eq!(s.task_info(1).period_us, 0);
    }

    #[test]
    fn limits() {
        let mut fs: Vec<Box<dyn Task<()>>> = (0..=MAX_TASKS)
            .map(|_| Box::new(|_: &mut ()| {}) as Box<dyn Task<()>>)
            .collect();
        let mut s = Sched::new(FREQ);
        let mut it = fs.iter_mut();
        assert_eq!(
            s.periodic("zero", 0, it.next().unwrap().as_mut()),
            Err(SchedError::ZeroPeriod)
        );
        for _ in 0..MAX_TASKS {
            s.periodic("t", 1, it.next().unwrap().as_mut()).unwrap();
        }
        let mut extra = |_: &mut ()| {};
        assert_eq!(s.periodic("x", 1, &mut extra), Err(SchedError::Full));
        assert_eq!(s.len(), MAX_TASKS);
        assert!(Sched::<()>::new(FREQ).next_deadline().is_none());
    }
}
