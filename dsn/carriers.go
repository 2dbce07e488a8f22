package dsn

// Japanese mobile carriers and providers bounce from their own domains, in
// English or Japanese prose; the recipients are in angle brackets or after
// a failure sentence, and the reason is a sentence of the template
// ("The user(s) account is disabled.", "550 Unknown user", "宛先不明").
// The Japanese wordings are in reply/rules.yaml with the others. Written
// from the carriers' documented wordings: the corpus has no sample.
var (
	// KDDI's au (ezweb.ne.jp, au.com): "The user(s) account is
	// disabled." / "... temporarily over quota." / "Each of the following
	// recipients was rejected by a remote mail server."
	kddi = carrier("kddi", "ezweb.ne.jp", "au.com", "kddi.com", "biz.ezweb.ne.jp", "ezweb.com")
	// NTT docomo (docomo.ne.jp, mopera.net).
	docomo = carrier("docomo", "docomo.ne.jp", "mopera.net", "dwmail.jp")
	// SoftBank (softbank.ne.jp, i.softbank.jp, the old vodafone.ne.jp and
	// disney.ne.jp).
	softbank = carrier("softbank", "softbank.ne.jp", "i.softbank.jp", "vodafone.ne.jp", "disney.ne.jp")
	// BIGLOBE (biglobe.ne.jp).
	biglobe = carrier("biglobe", "biglobe.ne.jp", "mail.biglobe.ne.jp")
)
