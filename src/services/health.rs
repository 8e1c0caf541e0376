//! Readiness: the database answers and its schema is current.

use super::ServiceError;
use crate::db::{migrations, Db};

pub async fn ready(db: &Db) -> Result<(), ServiceError> {
    db.run(|conn| match migrations::is_current(conn) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::Unavailable("migrations pending".into())),
        Err(e) => Err(ServiceError::Unavailable(e.to_string())),
    })
    .await
}
