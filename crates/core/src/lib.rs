//! Domain types shared by every prescale pipeline stage; no I/O lives here.

pub mod clock;
pub mod desired;
pub mod error;
pub mod fingerprint;
pub mod forecast;
pub mod ids;
pub mod point;
pub mod series;
pub mod time;
pub mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use desired::{DesiredState, Resources};
pub use error::CoreError;
pub use fingerprint::{ClusterId, Fingerprint};
pub use forecast::{Forecast, Level};
pub use ids::{Labels, MetricName, SeriesKey, WorkloadId};
pub use point::Point;
pub use series::{Sample, Series};
pub use time::{Interval, Timestamp};
pub use window::{WindowError, WindowSource};
