//! The built-in database templates of `prodb`: `empty` and `sports2000`.

/// A built-in template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Template {
    /// Schema area and one data area, no tables, 8 KiB blocks.
    Empty,
    /// The demo database: 1 KiB blocks, tables customer, salesrep, item, order and orderline
    /// filled deterministically.
    Sports2000,
}

impl Template {
    /// The template called `name`, if any.
    pub(crate) fn named(name: &str) -> Option<Template> {
        match name {
            "empty" => Some(Template::Empty),
            "sports2000" => Some(Template::Sports2000),
            _ => None,
        }
    }

    /// Database block size in bytes.
    pub(crate) fn block_size(self) -> u32 {
        match self {
            Template::Empty => 8192,
            Template::Sports2000 => 1024,
        }
    }

    /// The structure description, with extents generated in the database's directory.
    pub(crate) fn st_text(self) -> &'static str {
        match self {
            Template::Empty => "b .\nd \"Schema Area\":6,64 .\nd \"Data Area\":7,64;8 .\n",
            Template::Sports2000 => "b .\nd \"Schema Area\":6,32 .\nd \"Data Area\":7,32;8 .\n",
        }
    }
}
