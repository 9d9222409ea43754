"""Static catalogues the seed generator draws from: categories, merchants, names, words."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySpec:
    """An expense category: its GL code, how often it is used, and its amount profile."""

    name: str
    gl_code: str
    frequency: int  # relative share of expenses
    median_usd: float  # log-normal median of one expense, in US dollars
    sigma: float  # log-normal spread


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("Travel", "6100", 8, 320.0, 0.8),
    CategorySpec("Ground Transport", "6120", 18, 28.0, 0.7),
    CategorySpec("Fuel & Mileage", "6130", 4, 60.0, 0.4),
    CategorySpec("Lodging", "6150", 7, 190.0, 0.6),
    CategorySpec("Meals", "6200", 27, 32.0, 0.8),
    CategorySpec("Entertainment", "6250", 4, 140.0, 0.8),
    CategorySpec("Software", "6300", 10, 45.0, 1.0),
    CategorySpec("Office Supplies", "6400", 6, 38.0, 0.9),
    CategorySpec("Hardware", "6450", 2, 600.0, 0.9),
    CategorySpec("Training", "6500", 2, 280.0, 0.9),
    CategorySpec("Marketing", "6600", 3, 400.0, 1.1),
    CategorySpec("Telecom", "6700", 4, 55.0, 0.5),
    CategorySpec("Shipping", "6800", 3, 24.0, 0.8),
)

# Merchants by category; "Name|CUR" marks a merchant that bills in its local currency,
# "Name*" one that is used far more than its peers (Uber, Pret, AWS).
MERCHANTS: dict[str, tuple[str, ...]] = {
    "Travel": (
        "British Airways", "Lufthansa", "Delta Air Lines", "United Airlines", "American Airlines",
        "Air France", "KLM", "easyJet*", "Ryanair", "Emirates", "Gulf Air|BHD",
        "Japan Airlines|JPY", "ANA|JPY", "SWISS|CHF", "SAS Scandinavian Airlines|SEK", "Iberia",
        "Virgin Atlantic", "Southwest Airlines", "Eurostar", "Deutsche Bahn|EUR",
        "SNCF Connect|EUR", "Trainline*", "Amtrak|USD", "LNER|GBP", "SBB CFF FFS|CHF",
        "JR East|JPY", "SJ|SEK", "Expedia", "Kayak",
    ),
    "Ground Transport": (
        "Uber*", "Lyft|USD", "Bolt", "FREENOW|EUR", "Addison Lee|GBP", "Transport for London|GBP",
        "MTA New York|USD", "Heathrow Express|GBP", "Hertz", "Avis", "Enterprise Rent-A-Car",
        "Sixt", "Gett", "Careem|BHD", "GO Taxi|JPY",
    ),
    "Fuel & Mileage": ("Shell", "BP", "Esso", "Chevron", "TotalEnergies", "ExxonMobil"),
    "Lodging": (
        "Marriott*", "Hilton*", "Hyatt", "IHG Hotels", "Accor", "Premier Inn|GBP", "Travelodge|GBP",
        "Holiday Inn Express", "Radisson", "Four Seasons", "The Ritz-Carlton", "Airbnb",
        "Booking.com", "Hotels.com", "Motel One|EUR", "citizenM", "Park Hyatt Tokyo|JPY",
        "The Ritz-Carlton Bahrain|BHD", "Scandic Hotels|SEK", "Baur au Lac|CHF",
    ),
    "Meals": (
        "Pret A Manger*", "Starbucks*", "Chipotle", "Sweetgreen", "Leon", "itsu", "Wagamama",
        "Nando's", "Dishoom", "Joe & The Juice", "Deliveroo*", "Uber Eats*", "DoorDash",
        "Grubhub", "Just Eat", "Blue Bottle Coffee", "Five Guys", "Shake Shack", "PAUL",
        "Le Pain Quotidien", "Costa Coffee", "Caffè Nero", "Panera Bread", "Subway",
        "Ichiran|JPY", "Confiserie Sprüngli|CHF", "Max Burgers|SEK", "Talabat|BHD", "Wolt",
        "Gail's Bakery|GBP",
    ),
    "Entertainment": (
        "The Ivy", "Hawksmoor", "Nobu", "Gordon Ramsay Restaurants", "STK Steakhouse",
        "Balthazar", "Zuma", "Flight Club", "Topgolf", "Eventbrite", "Ticketmaster", "OpenTable",
    ),
    "Software": (
        "Amazon Web Services*", "Google Cloud", "Microsoft Azure", "GitHub*", "GitLab",
        "Atlassian", "Slack", "Zoom", "Notion", "Figma", "Miro", "Linear", "Dropbox",
        "1Password", "Datadog", "Sentry", "Heroku", "DigitalOcean", "Vercel", "Cloudflare",
        "Salesforce", "HubSpot", "Adobe", "Canva", "Loom", "Asana", "Calendly", "DocuSign",
        "Twilio", "OpenAI", "Anthropic", "JetBrains", "Postman", "Intercom", "Zendesk",
    ),
    "Office Supplies": (
        "Staples", "Office Depot", "Viking Direct", "Ryman|GBP", "IKEA", "Muji|JPY", "WHSmith|GBP",
        "Amazon Business*", "Costco",
    ),
    "Hardware": (
        "Apple Store*", "Dell Technologies", "Lenovo", "Best Buy|USD", "Currys|GBP",
        "MediaMarkt|EUR", "Logitech", "B&H Photo|USD", "Bic Camera|JPY", "Elgiganten|SEK",
    ),
    "Training": (
        "Coursera", "Udemy Business", "O'Reilly Media", "Pluralsight", "LinkedIn Learning",
        "Manning Publications", "PyCon", "AWS re:Invent", "Web Summit|EUR", "General Assembly",
    ),
    "Marketing": (
        "Google Ads*", "Meta Ads", "LinkedIn Ads", "Mailchimp", "Vistaprint", "MOO Print",
        "Printful", "Semrush",
    ),
    "Telecom": (
        "Vodafone", "Verizon|USD", "AT&T|USD", "T-Mobile", "BT Business|GBP",
        "Deutsche Telekom|EUR", "Swisscom|CHF", "Telia|SEK", "Batelco|BHD", "NTT Docomo|JPY",
    ),
    "Shipping": (
        "FedEx", "UPS", "DHL Express", "Royal Mail|GBP", "USPS|USD", "PostNord|SEK",
        "Yamato Transport|JPY", "Swiss Post|CHF",
    ),
}  # fmt: skip

# Templates per category; {city}, {client}, {event} and {month} are filled in at import.
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Travel": (
        "Flight to {city}", "Return flight from {city}", "Train to {city}", "Seat upgrade",
        "Change fee, flight to {city}", "Flight to {event}", "Rail ticket for {client} visit",
    ),
    "Ground Transport": (
        "Taxi to airport", "Taxi from {city} office", "Ride to {client}", "Car hire in {city}",
        "Late ride home after release", "Airport transfer", "Travelcard", "Parking at {city} station",
    ),
    "Fuel & Mileage": ("Fuel, visit to {client}", "Fuel for hire car", "Mileage to {city}"),
    "Lodging": (
        "Hotel in {city}, 2 nights", "Hotel in {city}, 1 night", "Hotel for {event}",
        "Hotel in {city}, 4 nights", "Apartment for {city} project week",
    ),
    "Meals": (
        "Team lunch", "Lunch with {client}", "Working lunch", "Coffee with a candidate",
        "Breakfast before {city} offsite", "Dinner while travelling", "Overtime dinner",
        "Lunch at {event}", "Coffee with {client}",
    ),
    "Entertainment": (
        "Client dinner, {client}", "Team social", "Quarter-end celebration",
        "Tickets for {client} hospitality", "Leaving drinks",
    ),
    "Software": (
        "Monthly subscription, {month}", "Annual plan renewal", "Extra seats",
        "Usage charges, {month}", "Team plan upgrade",
    ),
    "Office Supplies": (
        "Printer paper and toner", "Notebooks and pens", "Desk chair", "Monitor stand",
        "Cables and adapters", "Whiteboard markers",
    ),
    "Hardware": (
        "Laptop for new starter", "External monitor", "Keyboard and mouse", "Headset",
        "Docking station", "Replacement charger",
    ),
    "Training": (
        "Online course", "Ticket for {event}", "Technical books", "Certification exam fee",
        "Workshop in {city}",
    ),
    "Marketing": (
        "Campaign spend, {month}", "Business cards", "Banners for {event}", "Newsletter platform",
        "Sponsorship, {event}",
    ),
    "Telecom": ("Mobile plan, {month}", "Roaming charges in {city}", "Office broadband", "eSIM data"),
    "Shipping": (
        "Courier to {client}", "Returning equipment", "Parcel to {city} office", "Document courier",
    ),
}  # fmt: skip

CITIES = (
    "London", "Manchester", "Edinburgh", "New York", "San Francisco", "Chicago", "Austin",
    "Berlin", "Munich", "Paris", "Amsterdam", "Madrid", "Dublin", "Zurich", "Geneva",
    "Stockholm", "Tokyo", "Osaka", "Manama", "Dubai", "Singapore", "Toronto", "Lisbon",
)  # fmt: skip
CLIENTS = (
    "Initech", "Umbrella Health", "Stark Logistics", "Wayne Capital", "Hooli", "Pied Piper",
    "Vandelay Industries", "Soylent Foods", "Tyrell Systems", "Cyberdyne", "Wonka Retail",
    "Oscorp", "Gringotts Bank", "Monarch Media", "Duff Beverages",
)  # fmt: skip
EVENTS = (
    "Web Summit", "re:Invent", "SaaStr", "the sales kickoff", "the offsite", "PyCon",
    "the partner summit", "the customer advisory board",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

FIRST_NAMES = (
    "Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "Elijah", "Mia", "James",
    "Sophia", "William", "Emily", "Lucas", "Grace", "Henry", "Chloe", "Jack", "Ella", "Leo",
    "Aisha", "Omar", "Fatima", "Yusuf", "Hana", "Kenji", "Yuki", "Haruto", "Sakura", "Ren",
    "Lena", "Felix", "Emma", "Jonas", "Clara", "Paul", "Sofia", "Mateo", "Lucia", "Hugo",
    "Chiara", "Marco", "Elin", "Erik", "Astrid", "Nils", "Priya", "Arjun", "Ananya", "Rohan",
    "Zoe", "Daniel", "Maya", "Samuel", "Nora", "Adam", "Ines", "Tomas", "Freya", "Oscar",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Garcia", "Martinez", "Miller", "Davis", "Lopez", "Clark", "Lewis", "Young", "Allen",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois",
    "Rossi", "Bianchi", "Andersson", "Johansson", "Lindqvist", "Tanaka", "Suzuki", "Sato",
    "Watanabe", "Al-Khalifa", "Haddad", "Nasser", "Singh", "Kumar", "Shah", "O'Brien",
    "Murphy", "Kelly", "Novak", "Kowalski", "Silva", "Santos", "Costa", "Nguyen", "Kim",
)  # fmt: skip
TEAM_NAMES = (
    "Sales", "Engineering", "Marketing", "Finance", "Operations", "Customer Success",
    "Product", "Design", "People", "Legal", "IT", "Support", "Procurement", "Facilities",
    "Data", "Security", "Partnerships", "Research", "Quality", "Logistics", "Growth", "Brand",
    "Platform", "Mobile", "Infrastructure", "Field Sales EMEA", "Field Sales Americas",
    "Field Sales APAC", "Business Development", "Executive Office",
)  # fmt: skip
COMPANY_WORDS = (
    "Northwind", "Bluefin", "Copperleaf", "Silverline", "Brightwater", "Redwood", "Ironbridge",
    "Kestrel", "Lumen", "Meridian", "Oakridge", "Pinnacle", "Quayside", "Riverstone", "Sable",
    "Tidewater", "Vantage", "Willowby", "Zephyr", "Harbourlight", "Granite", "Foxglove",
    "Evergreen", "Driftwood", "Cobalt", "Beacon", "Aster", "Halcyon", "Juniper", "Larkspur",
)  # fmt: skip
COMPANY_TRADES = (
    "Logistics", "Analytics", "Robotics", "Foods", "Health", "Media", "Energy", "Capital",
    "Studios", "Software", "Consulting", "Engineering", "Retail", "Labs", "Systems", "Travel",
)  # fmt: skip
LEGAL_SUFFIX = {"GBP": "Ltd", "USD": "Inc", "EUR": "GmbH", "JPY": "KK", "BHD": "W.L.L."}
TIMEZONES = {
    "GBP": ("Europe/London",),
    "USD": ("America/New_York", "America/Chicago", "America/Los_Angeles", "America/Denver"),
    "EUR": ("Europe/Berlin", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid", "Europe/Dublin"),
    "JPY": ("Asia/Tokyo",),
    "BHD": ("Asia/Bahrain",),
}
REJECTION_REASONS = (
    "Missing itemised receipt", "Personal expense", "Over the policy limit",
    "Duplicate of an earlier claim", "Wrong category, please resubmit", "Alcohol is not covered",
)  # fmt: skip
APPROVAL_COMMENTS = ("Approved", "Looks good", "Thanks", "OK for the project budget")
