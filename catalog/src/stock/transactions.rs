//! The bodies of the stock store's sled transactions: one buy, and the helpers every
//! transaction uses.

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use common::encoding::{decode, encode, u64_key};
use common::wire::{BuyReceipt, BuyRequest};
use common::{Error, Result, MAX_ORDER_QUANTITY, MIN_ORDER_QUANTITY};

use crate::records::{
    decode_buy, encode_buy, order_digest, BuyOutcome, Movement, MovementKind, StockRecord,
};

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

/// One buy inside the batch transaction. A refused quantity is that request's answer (`Ok(Err)`);
/// a storage failure aborts the whole transaction.
pub(super) fn decide_one(
    products: &TransactionalTree,
    buys: &TransactionalTree,
    journal: &TransactionalTree,
    request: &BuyRequest,
) -> std::result::Result<Result<(BuyOutcome, bool)>, ConflictableTransactionError<Error>> {
    let id = request.request_id.0.as_bytes();
    let (name, quantity) = (request.name.as_str(), request.quantity);
    let digest = order_digest(name, quantity);
    if let Some(bytes) = buys.get(id)? {
        let (outcome, recorded) = decode_buy(&bytes).map_err(abort)?;
        // A record from before digests were kept answers as it always did.
        if recorded.is_some_and(|recorded| recorded != digest) {
            return Ok(Err(Error::IdempotencyConflict));
        }
        return Ok(Ok((outcome, true)));
    }
    if !(MIN_ORDER_QUANTITY..=MAX_ORDER_QUANTITY).contains(&quantity) {
        return Ok(Err(Error::BadRequest(format!(
            "quantity must be a whole number from {MIN_ORDER_QUANTITY} to {MAX_ORDER_QUANTITY}"
        ))));
    }
    let outcome = match read(products, name)? {
        None => BuyOutcome::NotFound,
        Some(record) if record.quantity < quantity => BuyOutcome::OutOfStock,
        Some(mut record) => {
            record.quantity -= quantity;
            record.version += 1;
            products.insert(name.as_bytes(), encode(&record))?;
            let movement = Movement {
                name: name.to_string(),
                kind: MovementKind::Buy {
                    request_id: request.request_id.clone(),
                },
                delta: -i64::from(quantity),
                quantity_after: record.quantity,
                version: record.version,
            };
            append(journal, &movement)?;
            BuyOutcome::Bought(BuyReceipt {
                version: record.version,
                remaining: record.quantity,
            })
        }
    };
    buys.insert(id, encode_buy(&outcome, digest))?;
    Ok(Ok((outcome, false)))
}

pub(super) fn not_found() -> Error {
    Error::NotFound("product not found".into())
}

pub(super) fn abort(error: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(error)
}

pub(super) fn tx_error(error: TransactionError<Error>) -> Error {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => error.into(),
    }
}

/// Reads a product inside a transaction.
pub(super) fn read(products: &TransactionalTree, name: &str) -> TxResult<Option<StockRecord>> {
    match products.get(name.as_bytes())? {
        Some(bytes) => decode(&bytes).map(Some).map_err(abort),
        None => Ok(None),
    }
}

/// Appends a movement to the journal inside a transaction. sled serializes transactions and its
/// ids grow monotonically (across restarts too), so journal order is commit order.
pub(super) fn append(journal: &TransactionalTree, movement: &Movement) -> TxResult<()> {
    let seq = journal
        .generate_id()
        .map_err(ConflictableTransactionError::Storage)?;
    journal.insert(&u64_key(seq)[..], encode(movement))?;
    Ok(())
}
