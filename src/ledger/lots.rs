//! Taking stock out of lots, oldest first (by received_at, then creation order).

use super::LedgerError;
use crate::db::lots::{self, LotRow};
use crate::db::DbConnection;

/// Stock taken from one lot.
#[derive(Debug, Clone)]
pub struct Pick {
    pub lot: LotRow,
    pub quantity: i64,
}

const BATCH: i64 = 64;

/// Takes `quantity` of `material` from its lots with stock, oldest first, at `facility` or
/// anywhere. The caller holds the material's row lock (see `db::materials::lock`), so the
/// lots read here cannot change under it.
pub fn take_oldest(
    conn: &mut DbConnection,
    material: &str,
    facility: Option<&str>,
    quantity: i64,
    scale: u32,
) -> Result<Vec<Pick>, LedgerError> {
    // Read a batch, and a larger one if stock is spread thin; decide before changing anything.
    let mut limit = BATCH;
    let (picks, left, seen) = loop {
        let lots = lots::with_stock_oldest_first(conn, material, facility, limit)?;
        let mut picks = Vec::new();
        let mut left = quantity;
        for lot in &lots {
            if left == 0 {
                break;
            }
            let take = lot.quantity_on_hand.min(left);
            left -= take;
            picks.push(Pick {
                lot: lot.clone(),
                quantity: take,
            });
        }
        if left == 0 || (lots.len() as i64) < limit {
            let seen = lots.iter().map(|l| l.quantity_on_hand).sum::<i64>();
            break (picks, left, seen);
        }
        limit *= 4;
    };
    if left > 0 {
        return Err(LedgerError::Short {
            material: material.to_owned(),
            facility: facility.map(str::to_owned),
            requested: quantity,
            available: seen,
            scale,
        });
    }
    for p in &picks {
        if !lots::change_stock(conn, &p.lot.id, -p.quantity)? {
            return Err(LedgerError::Race);
        }
    }
    Ok(picks)
}
