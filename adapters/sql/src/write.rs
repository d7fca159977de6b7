//! Statements writing whole rows given as column–value pairs (from `crate::mapping`), so
//! inserts and updates of one table can never disagree about its columns.

use sea_orm::sea_query::{Expr, InsertStatement, Query};
use sea_orm::{EntityTrait, UpdateMany, Value};

/// `INSERT` of one row.
pub(crate) fn insert<E: EntityTrait + Default>(row: Vec<(E::Column, Value)>) -> InsertStatement {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().unzip();
    Query::insert()
        .into_table(E::default())
        .columns(columns)
        // Cannot panic: the columns and values come from the same pairs.
        .values_panic(values.into_iter().map(Expr::val))
        .to_owned()
}

/// `UPDATE` setting every column of `row`; the caller adds the `WHERE`.
pub(crate) fn update<E: EntityTrait + Default>(row: Vec<(E::Column, Value)>) -> UpdateMany<E> {
    row.into_iter()
        .fold(E::update_many(), |update, (column, value)| {
            update.col_expr(column, Expr::val(value))
        })
}
