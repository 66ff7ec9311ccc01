//! One entry point for every inventory format. The row model lives in
//! [`super::table`]; each format renders it, none decides a status.

use super::table::{self, Meta, Row, TableFormat};

pub fn render(rows: &[Row], format: TableFormat, meta: &Meta) -> String {
    match format {
        TableFormat::Human => table::human(rows, meta.at, meta.warn_days),
        TableFormat::Json => table::json(rows, meta.at, meta.warn_days),
        TableFormat::Csv => table::csv(rows),
        TableFormat::Html => super::html::render(rows, meta),
        TableFormat::Ics => super::ics::render(rows, meta),
    }
}
