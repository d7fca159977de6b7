//! Statements writing whole rows given as column–value pairs (from `crate::mapping`), so
//! inserts and updates of one table can never disagree about its columns; and several writes
//! sent as one PostgreSQL statement.

use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, InsertStatement, Query, SubQueryStatement, WithClause,
    WithQuery,
};
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

/// `statement` run after the data-modifying `writes`, as one PostgreSQL statement. Every part
/// sees the rows as they were when the statement started and none sees another's changes,
/// so the writes must touch distinct rows; foreign keys are checked once all are done.
pub(crate) fn after_writes(
    writes: impl IntoIterator<Item = (&'static str, SubQueryStatement)>,
    statement: impl Into<SubQueryStatement>,
) -> WithQuery {
    let mut with = WithClause::new();
    for (name, write) in writes {
        with.cte(
            CommonTableExpression::new()
                .query(write)
                .table_name(Alias::new(name))
                .to_owned(),
        );
    }
    with.query(statement)
}
