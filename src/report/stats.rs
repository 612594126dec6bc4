//! Minimum, median and maximum of repeated measurements, and the timings
//! table built from per-run samples. Pure arithmetic: no clocks here (the
//! figures come from what the connection recorded).

use std::time::Duration;

use super::model::{Spread, Step, TimingRow};

/// The spread of `values`; None when there are none. The median of an
/// even count is the mean of the middle two.
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        min: v[0],
        median,
        max: v[n - 1],
    })
}

/// Milliseconds with microsecond precision (what the JSON carries).
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Samples of all runs, kept in the order steps first appear.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    rows: Vec<(Step, Vec<f64>)>,
}

impl Samples {
    pub fn add(&mut self, step: Step, d: Duration) {
        let v = ms(d);
        match self.rows.iter_mut().find(|(s, _)| *s == step) {
            Some((_, values)) => values.push(v),
            None => self.rows.push((step, vec![v])),
        }
    }

    pub fn extend(&mut self, samples: &[(Step, Duration)]) {
        for (step, d) in samples {
            self.add(*step, *d);
        }
    }

    /// The timings table, in the order the steps first happened.
    pub fn rows(&self) -> Vec<TimingRow> {
        self.rows
            .iter()
            .filter_map(|(step, values)| {
                let s = spread(values)?;
                Some(TimingRow {
                    stage: *step,
                    label: step.label().to_string(),
                    samples: values.len(),
                    min_ms: s.min,
                    median_ms: s.median,
                    max_ms: s.max,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_median_max() {
        assert_eq!(spread(&[]), None);
        assert_eq!(
            spread(&[5.0]),
            Some(Spread {
                min: 5.0,
                median: 5.0,
                max: 5.0
            })
        );
        assert_eq!(
            spread(&[9.0, 1.0, 4.0]),
            Some(Spread {
                min: 1.0,
                median: 4.0,
                max: 9.0
            })
        );
        assert_eq!(
            spread(&[4.0, 1.0, 10.0, 2.0]),
            Some(Spread {
                min: 1.0,
                median: 3.0,
                max: 10.0
            })
        );
        assert_eq!(spread(&[f64::NAN, 2.0]).unwrap().median, 2.0);
    }

    #[test]
    fn rows_keep_first_seen_order_and_count_samples() {
        let mut s = Samples::default();
        s.add(Step::Stat, Duration::from_micros(2500));
        s.add(Step::Dns, Duration::from_millis(1));
        s.add(Step::Stat, Duration::from_micros(1500));
        s.add(Step::Stat, Duration::from_micros(9000));
        let rows = s.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].stage, Step::Stat);
        assert_eq!(rows[1].stage, Step::Dns);
        assert_eq!(rows[0].samples, 3);
        assert_eq!(rows[1].samples, 1);
        assert_eq!(
            (rows[0].min_ms, rows[0].median_ms, rows[0].max_ms),
            (1.5, 2.5, 9.0)
        );
        assert_eq!(ms(Duration::from_nanos(1_234_567)), 1.235);
    }
}
