//! How a reply that ran out of time is told: the minimum rate of a
//! message body, and the error for a reply given up (see the engine's
//! documentation for the rules).

use super::error::Error;

/// The minimum rate of a message body: at least this many bytes in every
/// `--timeout` period, or the transfer is given up as stalled.
pub const MIN_RATE_BYTES: u64 = 4096;

/// The error for a reply still incomplete when its time ran out:
/// `got` bytes in all, `in_period` of them in the last period.
pub(super) fn late(command: &str, bulk: bool, got: u64, in_period: u64, secs: u64) -> Error {
    let command = command.to_string();
    if got == 0 {
        Error::Timeout { command, secs }
    } else if bulk {
        Error::Stalled {
            command,
            bytes: in_period,
            secs,
        }
    } else {
        Error::TooSlow {
            command,
            bytes: got,
            secs,
        }
    }
}

/// A second copy of a reply given up (for the command and the exchange).
pub(super) fn again(e: &Error) -> Error {
    match e {
        Error::Timeout { command, secs } => Error::Timeout {
            command: command.clone(),
            secs: *secs,
        },
        Error::TooSlow {
            command,
            bytes,
            secs,
        } => Error::TooSlow {
            command: command.clone(),
            bytes: *bytes,
            secs: *secs,
        },
        Error::Stalled {
            command,
            bytes,
            secs,
        } => Error::Stalled {
            command: command.clone(),
            bytes: *bytes,
            secs: *secs,
        },
        Error::TooLong { command, limit } => Error::TooLong {
            command: command.clone(),
            limit: *limit,
        },
        other => Error::Invalid(other.to_string()),
    }
}
