//! S3 bucket lifecycle: the rules a bucket keeps (`rules`, the
//! `LifecycleConfiguration` document of Put/Get/DeleteBucketLifecycle,
//! handled by `s3::handlers::lifecycle`) and the background task that
//! applies them (`sweeper`, started by `server::run`).
//!
//! Both sides meet only in the store: the rules are one bucket setting
//! (`rules::SETTING`), so they live wherever the store keeps settings (the
//! meta bucket in gateway mode) and go with the bucket. The sweeper knows
//! nothing of HTTP and works through the `storage::Store` trait alone.

pub mod rules;
pub mod sweeper;

pub use rules::LifecycleConfig;
pub use sweeper::{SweepSettings, Sweeper};
