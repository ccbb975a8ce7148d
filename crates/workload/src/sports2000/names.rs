//! Word lists from which the sports2000 demo data draws its names.
//!
//! Invariant: the lists are fixed; changing one changes the demo data (and its digest), so an
//! edit here is a change of the demo database.

/// First names of customers and sales representatives.
pub(super) const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hugo", "Irene", "Jack", "Karin",
    "Leo", "Maria", "Nils", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Ugo", "Vera", "Walt",
    "Xenia", "Yves", "Zoe", "Aaron", "Bella", "Colin", "Dana", "Eric", "Fiona",
];

/// Last names of customers and sales representatives.
pub(super) const LAST_NAMES: &[&str] = &[
    "Adams", "Baker", "Clark", "Dixon", "Evans", "Fisher", "Garcia", "Hughes", "Ingram", "Jensen",
    "Keller", "Lopez", "Meyer", "Nolan", "Olsen", "Price", "Quint", "Reyes", "Stone", "Turner",
    "Ulrich", "Vargas", "Walsh", "Young", "Zimmer", "Berg", "Costa", "Duval",
];

/// Customer company suffixes.
pub(super) const COMPANY_SUFFIXES: &[&str] = &[
    "Sports",
    "Outfitters",
    "Athletics",
    "Fitness",
    "Ski Shop",
    "Golf Club",
    "Sport Center",
];

/// Cities with their state or region code.
pub(super) const CITIES: &[(&str, &str)] = &[
    ("Boston", "MA"),
    ("Burlington", "VT"),
    ("Portland", "ME"),
    ("Hartford", "CT"),
    ("Albany", "NY"),
    ("Buffalo", "NY"),
    ("Newark", "NJ"),
    ("Pittsburgh", "PA"),
    ("Baltimore", "MD"),
    ("Richmond", "VA"),
    ("Raleigh", "NC"),
    ("Atlanta", "GA"),
    ("Miami", "FL"),
    ("Nashville", "TN"),
    ("Chicago", "IL"),
    ("Detroit", "MI"),
    ("Cleveland", "OH"),
    ("Madison", "WI"),
    ("Denver", "CO"),
    ("Austin", "TX"),
    ("Dallas", "TX"),
    ("Phoenix", "AZ"),
    ("Seattle", "WA"),
    ("Spokane", "WA"),
    ("Eugene", "OR"),
    ("Fresno", "CA"),
    ("Oakland", "CA"),
    ("Reno", "NV"),
    ("Boise", "ID"),
    ("Helsinki", "FI"),
    ("Oslo", "NO"),
    ("Lyon", "FR"),
];

/// Sales regions.
pub(super) const REGIONS: &[&str] = &["East", "West", "Central", "North", "South"];

/// Item adjectives.
pub(super) const ITEM_ADJECTIVES: &[&str] = &[
    "Pro",
    "Junior",
    "Classic",
    "Ultra",
    "Light",
    "Club",
    "Team",
    "Elite",
    "Trail",
    "Indoor",
    "Outdoor",
    "Deluxe",
    "Basic",
    "Competition",
    "Travel",
    "Winter",
    "Summer",
];

/// Item products with their category.
pub(super) const PRODUCTS: &[(&str, &str)] = &[
    ("Ski Poles", "Ski"),
    ("Downhill Skis", "Ski"),
    ("Ski Goggles", "Ski"),
    ("Ski Boots", "Ski"),
    ("Snowboard", "Snow"),
    ("Snowshoes", "Snow"),
    ("Tennis Racquet", "Tennis"),
    ("Tennis Balls", "Tennis"),
    ("Golf Driver", "Golf"),
    ("Golf Balls", "Golf"),
    ("Golf Bag", "Golf"),
    ("Putter", "Golf"),
    ("Running Shoes", "Running"),
    ("Stopwatch", "Running"),
    ("Basketball", "Team"),
    ("Soccer Ball", "Team"),
    ("Hockey Stick", "Team"),
    ("Baseball Glove", "Team"),
    ("Swim Goggles", "Water"),
    ("Canoe Paddle", "Water"),
    ("Life Vest", "Water"),
    ("Bike Helmet", "Cycling"),
    ("Road Bike", "Cycling"),
    ("Tent", "Camping"),
    ("Sleeping Bag", "Camping"),
    ("Backpack", "Camping"),
    ("Climbing Rope", "Climbing"),
    ("Carabiner", "Climbing"),
];
