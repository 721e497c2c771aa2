"""Vocabularies of the synthetic generator: names, places, instruments, funds, page paths.

Plain data, most frequent first where the generator draws with a skew (``pick_skew``). Every
instrument, fund and company name is fictional; the postcodes are real Norwegian postcodes with
their post towns.
"""

from __future__ import annotations

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
    "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth",
    "Kristin", "Tone", "Silje", "Hanne", "Ingeborg", "Camilla", "Ragnhild", "Julie", "Nora",
    "Emma", "Sofie", "Thea", "Ella", "Sara", "Maja", "Olivia", "Ingvild", "Line", "Heidi",
    "Mette", "Gunn", "Åse", "Tove", "Sigrid", "Synnøve", "Torill", "Wenche", "Guro", "Frida",
    "Vilde", "Helene", "Aisha", "Zofia",
)  # fmt: skip

MALE_FIRST_NAMES: tuple[str, ...] = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas", "Hans",
    "Geir", "Tor", "Morten", "Terje", "Odd", "Erik", "Martin", "Andreas", "John", "Anders",
    "Rune", "Trond", "Tore", "Jon", "Harald", "Olav", "Magnus", "Kristian", "Daniel", "Jonas",
    "Espen", "Stian", "Henrik", "Emil", "Sander", "Filip", "Jakob", "Noah", "Oskar", "Lukas",
    "Aksel", "Mathias", "Sindre", "Eirik", "Håkon", "Øyvind", "Ståle", "Sigurd", "Mohammed",
    "Piotr", "Ali",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
    "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge",
    "Moe", "Nygård", "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge",
    "Christensen", "Andresen", "Nielsen", "Knudsen", "Evensen", "Sæther", "Aas", "Myhre",
    "Hanssen", "Ahmed", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen",
    "Berntsen", "Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug", "Ellingsen",
    "Thorsen", "Edvardsen", "Birkeland", "Isaksen", "Gulbrandsen", "Ødegård", "Wilhelmsen",
    "Kowalski", "Aasen", "Ruud", "Fjeld",
)  # fmt: skip

STREETS: tuple[str, ...] = (
    "Storgata", "Kirkegata", "Kongens gate", "Dronningens gate", "Skolegata", "Parkveien",
    "Strandveien", "Fjordveien", "Granveien", "Bjørkeveien", "Furuveien", "Eikeveien",
    "Lindeveien", "Rosenborggata", "Solbakken", "Sjøgata", "Havnegata", "Bakkegata",
    "Nordre gate", "Søndre gate", "Industriveien", "Stasjonsveien", "Møllegata", "Torggata",
    "Løkkeveien", "Haugeveien", "Bekkeveien", "Åsveien", "Elvegata", "Tollbugata",
    "Prinsens gate", "Fjellveien", "Utsikten", "Kløverveien", "Markveien", "Jernbanegata",
    "Nedre Storgate", "Øvre Slottsgate", "Skogveien", "Hageveien",
)  # fmt: skip

# Real Norwegian postcodes with their post towns (Oslo first: drawn most often).
POSTCODES: tuple[tuple[str, str], ...] = (
    ("0150", "Oslo"), ("0250", "Oslo"), ("0354", "Oslo"), ("0458", "Oslo"), ("0560", "Oslo"),
    ("0655", "Oslo"), ("0768", "Oslo"), ("0870", "Oslo"), ("0960", "Oslo"), ("5003", "Bergen"),
    ("5020", "Bergen"), ("5089", "Bergen"), ("7010", "Trondheim"), ("7030", "Trondheim"),
    ("4005", "Stavanger"), ("1337", "Sandvika"), ("1364", "Fornebu"), ("2000", "Lillestrøm"),
    ("3015", "Drammen"), ("4610", "Kristiansand S"), ("4306", "Sandnes"), ("9008", "Tromsø"),
    ("1607", "Fredrikstad"), ("1706", "Sarpsborg"), ("3724", "Skien"), ("8006", "Bodø"),
    ("6002", "Ålesund"), ("3111", "Tønsberg"), ("1530", "Moss"), ("5527", "Haugesund"),
    ("3210", "Sandefjord"), ("2317", "Hamar"), ("3262", "Larvik"), ("4836", "Arendal"),
    ("2050", "Jessheim"), ("3915", "Porsgrunn"), ("2609", "Lillehammer"), ("6413", "Molde"),
    ("2815", "Gjøvik"), ("3611", "Kongsberg"), ("1440", "Drøbak"), ("5141", "Fyllingsdalen"),
    ("6509", "Kristiansund N"), ("3510", "Hønefoss"), ("1812", "Askim"), ("7600", "Levanger"),
    ("5411", "Stord"), ("9510", "Alta"), ("8514", "Narvik"), ("8622", "Mo i Rana"),
    ("7713", "Steinkjer"), ("2211", "Kongsvinger"), ("4514", "Mandal"), ("6800", "Førde"),
    ("6100", "Volda"), ("8300", "Svolvær"), ("9600", "Hammerfest"), ("9900", "Kirkenes"),
    ("4950", "Risør"),
)  # fmt: skip

FOREIGN_COUNTRIES: tuple[str, ...] = (
    "SE", "DK", "PL", "DE", "GB", "LT", "FI", "US", "ES", "NL",
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "online.no", "hotmail.com", "outlook.com", "yahoo.no", "icloud.com",
    "live.no", "broadpark.no",
)  # fmt: skip

# Fictional listed companies: (name, price in NOK). ISINs are derived by the generator.
INSTRUMENTS: tuple[tuple[str, str], ...] = (
    ("Nordkyst Energi ASA", "284.60"), ("Hardanger Havbruk ASA", "612.00"),
    ("Trollfjord Shipping ASA", "41.35"), ("Vestland Kraft ASA", "128.90"),
    ("Polarlaks ASA", "356.20"), ("Bergen Teknologi ASA", "77.48"),
    ("Nidaros Eiendom ASA", "19.92"), ("Lofoten Sjømat ASA", "93.10"),
    ("Oslofjord Bygg ASA", "154.00"), ("Dovre Industri ASA", "211.75"),
    ("Saga Telekom ASA", "136.40"), ("Finnmark Mineraler ASA", "8.74"),
    ("Skagerrak Offshore ASA", "47.05"), ("Nordlys Solkraft ASA", "3.21"),
    ("Fjellheim Gruppen ASA", "402.50"), ("Kystverft ASA", "65.80"),
    ("Jotunheim Helse ASA", "172.30"), ("Vikingskip Logistikk ASA", "88.15"),
    ("Hafslund Havvind ASA", "24.66"), ("Norrøn Bank ASA", "198.40"),
    ("Sognefjord Reiseliv ASA", "33.90"), ("Femund Skog ASA", "57.25"),
    ("Helgeland Aluminium ASA", "71.60"), ("Romsdal Robotikk ASA", "12.48"),
    ("Trøndelag Mat ASA", "145.10"), ("Senja Batteri ASA", "6.95"),
    ("Agder Elektronikk ASA", "238.00"), ("Telemark Kjemi ASA", "99.30"),
    ("Varanger Fiskeri ASA", "52.70"), ("Østfold Emballasje ASA", "117.85"),
    ("Nordhav Forsikring ASA", "264.20"), ("Fjordline Ferjer ASA", "28.45"),
    ("Isbre Data ASA", "309.90"), ("Midnattsol Media ASA", "15.30"),
    ("Bølgen Havenergi ASA", "4.82"), ("Gudbrand Gårdsdrift ASA", "61.40"),
    ("Lyngen Laks ASA", "487.00"), ("Ryfylke Stein ASA", "36.15"),
    ("Hallingdal Hytter ASA", "81.95"), ("Tinde Kapital ASA", "142.60"),
)  # fmt: skip

# Funds of the (fictional) Fjordbank Asset Management: (fund code, fund name, NAV in NOK).
FUNDS: tuple[tuple[str, str, str], ...] = (
    ("FJB-NORGE-IDX", "Fjordbank Norge Indeks", "412.18"),
    ("FJB-GLOBAL-IDX", "Fjordbank Global Indeks", "287.64"),
    ("FJB-NORDEN", "Fjordbank Norden", "356.02"),
    ("FJB-TEKNOLOGI", "Fjordbank Teknologi", "198.77"),
    ("FJB-RENTE", "Fjordbank Rente", "104.31"),
    ("FJB-PENGEMARKED", "Fjordbank Pengemarked", "101.05"),
    ("FJB-KREDITT", "Fjordbank Kreditt", "112.46"),
    ("FJB-GRONN", "Fjordbank Grønn Fremtid", "153.90"),
    ("FJB-EM", "Fjordbank Fremvoksende Markeder", "176.25"),
    ("FJB-USA-IDX", "Fjordbank USA Indeks", "341.58"),
    ("FJB-EUROPA", "Fjordbank Europa", "221.13"),
    ("FJB-KOMBI-50", "Fjordbank Kombinasjon 50", "164.70"),
    ("FJB-KOMBI-80", "Fjordbank Kombinasjon 80", "189.42"),
    ("FJB-HELSE", "Fjordbank Global Helse", "245.86"),
    ("FJB-EIENDOM", "Fjordbank Nordisk Eiendom", "132.07"),
    ("FJB-SMB", "Fjordbank Norske Småselskaper", "274.39"),
)  # fmt: skip

PUBLIC_PAGES: tuple[str, ...] = (
    "/", "/loans/mortgage", "/loans/consumer", "/loans/car", "/loans/student",
    "/savings/funds", "/savings/bsu", "/savings/accounts", "/investments/shares",
    "/investments/funds", "/insurance/home", "/insurance/car", "/insurance/travel",
    "/insurance/life", "/pension/ips", "/pension/private", "/cards/credit", "/cards/debit",
    "/about", "/contact", "/privacy", "/cookies",
)  # fmt: skip

LOGGED_IN_PAGES: tuple[str, ...] = (
    "/online-bank/overview", "/online-bank/payments", "/online-bank/accounts",
    "/online-bank/cards", "/online-bank/loans", "/online-bank/investments",
    "/online-bank/insurance", "/online-bank/pension", "/online-bank/profile",
)  # fmt: skip

# First octets of IPv4 blocks used by Norwegian access providers.
IPV4_FIRST_OCTETS: tuple[int, ...] = (
    77, 78, 79, 80, 81, 84, 85, 88, 89, 92, 109, 141, 146, 151, 176, 178, 193, 195, 212, 213,
)  # fmt: skip

DEFAULT_CAUSES: tuple[str, ...] = (
    "unemployment", "illness", "divorce", "business_failure", "over_indebtedness", "death",
)  # fmt: skip

FRAUD_CATEGORIES: tuple[str, ...] = (
    "card_fraud", "identity_theft", "account_takeover", "investment_scam", "romance_scam",
    "money_mule", "phishing",
)  # fmt: skip

CONSENT_CHANNELS: tuple[str, ...] = ("online_bank", "mobile_app", "branch", "phone")
