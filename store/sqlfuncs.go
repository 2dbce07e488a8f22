package store

import (
	_ "embed"
	"strings"
	"sync"
)

// Which functions an analyst's query may call.
//
// ClickHouse's scalar functions reach beyond the store too: file() reads
// any file, the dictGet family reads dictionaries whose sources are files,
// hosts and programs, joinGet reads a table named in a string, getSetting
// and getMacro tell the server's configuration, the ai* functions send data
// to an LLM provider. A denylist of those would let through whatever the
// next engine release adds, so the check works from an allowlist instead:
// sqlfunctions.txt lists every function of the pinned libchdb (ChdbVersion)
// with its verdict, and a function that is not listed there as allowed is
// refused. The verdicts are derived from deniedFunctions below, a reviewed
// list with the reason for each; TestSQLFunctionList fails when the pinned
// library offers a function the file does not classify, so that upgrading
// libchdb forces a review: read the new functions, add those that reach
// files, hosts, programs, other tables or the server's configuration to
// deniedFunctions, then regenerate the file with
//
//	go test ./store -run TestSQLFunctionList -update-sql-functions
//
// A ClickHouse server of another version is checked against the same list:
// its newer functions are refused until they are classified.

// deniedFunctions are the functions of the engine an analyst may not call,
// by the reason given when one is refused. Aliases (hostname for hostName)
// share their target's verdict.
var deniedFunctions = []struct {
	reason string
	names  []string
}{
	{"reads files on the server", []string{"file"}},
	{"loads a model from a file", []string{"catboostEvaluate", "naiveBayesClassifier"}},
	{"sends data to an LLM provider on another host", []string{"aiClassify", "aiExtract", "aiGenerate", "aiTranslate"}},
	{"reads a dictionary, whose source may be a file, a host or a program", []string{
		"dictGet", "dictGetAll", "dictGetChildren", "dictGetDate", "dictGetDateOrDefault", "dictGetDateTime",
		"dictGetDateTimeOrDefault", "dictGetDescendants", "dictGetFloat32", "dictGetFloat32OrDefault", "dictGetFloat64",
		"dictGetFloat64OrDefault", "dictGetHierarchy", "dictGetIPv4", "dictGetIPv4OrDefault", "dictGetIPv6",
		"dictGetIPv6OrDefault", "dictGetInt16", "dictGetInt16OrDefault", "dictGetInt32", "dictGetInt32OrDefault",
		"dictGetInt64", "dictGetInt64OrDefault", "dictGetInt8", "dictGetInt8OrDefault", "dictGetKeys",
		"dictGetOrDefault", "dictGetOrNull", "dictGetString", "dictGetStringOrDefault", "dictGetUInt16",
		"dictGetUInt16OrDefault", "dictGetUInt32", "dictGetUInt32OrDefault", "dictGetUInt64", "dictGetUInt64OrDefault",
		"dictGetUInt8", "dictGetUInt8OrDefault", "dictGetUUID", "dictGetUUIDOrDefault", "dictHas", "dictIsIn"}},
	{"reads the server's embedded dictionaries (geobase files)", []string{
		"regionHierarchy", "regionIn", "regionToArea", "regionToCity", "regionToContinent", "regionToCountry",
		"regionToDistrict", "regionToName", "regionToPopulation", "regionToTopContinent"}},
	{"reads a table named in a string, past the table check", []string{"joinGet", "joinGetOrNull"}},
	{"looks into the tables of other databases", []string{"hasColumnInTable", "getMaxTableNameLengthForDatabase"}},
	{"reads a list of top-level domains from a file named in the server's configuration", []string{
		"cutToFirstSignificantSubdomainCustom", "cutToFirstSignificantSubdomainCustomRFC",
		"cutToFirstSignificantSubdomainCustomWithWWW", "cutToFirstSignificantSubdomainCustomWithWWWRFC",
		"firstSignificantSubdomainCustom", "firstSignificantSubdomainCustomRFC"}},
	{"writes to the server's log", []string{"logTrace"}},
	{"writes a counter to Keeper", []string{"generateSerialID"}},
	{"inspects the server process", []string{"addressToLine", "addressToLineWithInlines", "addressToSymbol", "demangle", "tid", "buildId"}},
	{"tells about the server, its configuration or its accounts rather than the store", []string{
		"getSetting", "getSettingOrDefault", "getServerSetting", "getMergeTreeSetting", "getMacro", "getServerPort",
		"tcpPort", "getClientHTTPHeader", "hostName", "FQDN", "displayName", "serverUUID", "uptime",
		"getOSKernelVersion", "showCertificate", "filesystemAvailable", "filesystemCapacity", "filesystemUnreserved",
		"zookeeperSessionUptime", "globalVariable", "currentUser", "authenticatedUser", "currentProfiles",
		"currentRoles", "defaultProfiles", "defaultRoles", "enabledProfiles", "enabledRoles"}},
	{"belongs to the engine's experimental transactions", []string{"transactionID", "transactionLatestSnapshot", "transactionOldestSnapshot"}},
	{"is internal to the engine", []string{"__actionName", "__applyFilter", "__bitBoolMaskAnd", "__bitBoolMaskOr",
		"__bitSwapLastTwo", "__bitWrapperFunc", "__getScalar", "__patchPartitionID", "__scalarSubqueryResult"}},
}

// sqlFunctionList is the classification of the pinned engine's functions,
// one per line: name, allow or deny, flags (a: aggregate, i: the name is
// case-insensitive, -: neither) and, for an alias, the function it names.
//
//go:embed sqlfunctions.txt
var sqlFunctionList string

// syntaxFunctions are names the parser gives to syntax rather than
// functions the engine lists: x -> f(x) is lambda, EXISTS (SELECT ...)
// is exists.
var syntaxFunctions = map[string]bool{"lambda": true, "exists": true}

// inFunctions are the functions of IN and its variants, whose right side
// may name a table.
var inFunctions = map[string]bool{"in": true, "notIn": true, "globalIn": true, "globalNotIn": true,
	"nullIn": true, "notNullIn": true, "globalNullIn": true, "globalNotNullIn": true}

// allowedTableFunctions are the table functions an analyst may use: they
// make rows out of their arguments and read nothing. zeros() is not among
// them because the engine's read-only mode refuses it (numbers() does the
// same job: SELECT 0 FROM numbers(10)).
var allowedTableFunctions = map[string]bool{"numbers": true, "numbers_mt": true, "generateSeries": true,
	"generate_series": true, "values": true, "SQLStandardValues": true}

// tableFunctionReasons say why well-known table functions are refused.
var tableFunctionReasons = []struct {
	reason string
	names  []string
}{
	{"reads files", []string{"file", "fileCluster", "filesystem", "arrowstream"}},
	{"reaches other hosts", []string{"url", "urlCluster", "prometheusQuery", "prometheusQueryRange"}},
	{"reads object storage on other hosts", []string{"s3", "s3Cluster", "gcs", "cosn", "oss", "hdfs", "hdfsCluster",
		"azureBlobStorage", "azureBlobStorageCluster"}},
	{"reads data lakes on files or other hosts", []string{"iceberg", "icebergAzure", "icebergAzureCluster", "icebergCluster",
		"icebergHDFS", "icebergHDFSCluster", "icebergLocal", "icebergLocalCluster", "icebergS3", "icebergS3Cluster",
		"deltaLake", "deltaLakeAzure", "deltaLakeAzureCluster", "deltaLakeCluster", "deltaLakeLocal", "deltaLakeS3",
		"deltaLakeS3Cluster", "hudi", "hudiCluster", "paimon", "paimonAzure", "paimonAzureCluster", "paimonCluster",
		"paimonHDFS", "paimonHDFSCluster", "paimonLocal", "paimonS3", "paimonS3Cluster"}},
	{"queries other ClickHouse servers", []string{"remote", "remoteSecure", "cluster", "clusterAllReplicas"}},
	{"reads another database system", []string{"mysql", "postgresql", "sqlite", "mongodb", "redis", "jdbc", "odbc", "ytsaurus"}},
	{"runs programs", []string{"executable"}},
	{"reads the client's input", []string{"input"}},
	{"reads a dictionary, whose source may be a file, a host or a program", []string{"dictionary"}},
	{"reads tables of other databases", []string{"merge", "mergeTreeIndex", "mergeTreeProjection", "mergeTreeTextIndex",
		"mergeTreeAnalyzeIndexes", "mergeTreeAnalyzeIndexesUUID", "loop"}},
	{"reads time series tables", []string{"timeSeriesData", "timeSeriesMetrics", "timeSeriesTags", "timeSeriesSelector"}},
	{"is EXPLAIN, which mailtrace sql does not run", []string{"viewExplain"}},
	{"is refused by the engine's read-only mode; numbers() does the same (SELECT 0 FROM numbers(10))", []string{"zeros", "zeros_mt"}},
}

// funcVerdict is one function's entry in sqlfunctions.txt.
type funcVerdict struct {
	allowed, aggregate, caseInsensitive bool
	aliasTo                             string
}

type funcTable struct {
	byName  map[string]funcVerdict
	byLower map[string][]string // lowercased name -> names
	reasons map[string]string   // denied name -> reason
	tables  map[string]string   // refused table function -> reason
}

var (
	funcsOnce sync.Once
	funcs     *funcTable
)

func functions() *funcTable {
	funcsOnce.Do(func() {
		f := &funcTable{byName: map[string]funcVerdict{}, byLower: map[string][]string{},
			reasons: map[string]string{}, tables: map[string]string{}}
		for _, g := range deniedFunctions {
			for _, n := range g.names {
				f.reasons[n] = g.reason
			}
		}
		for _, g := range tableFunctionReasons {
			for _, n := range g.names {
				f.tables[n] = g.reason
			}
		}
		for _, line := range strings.Split(sqlFunctionList, "\n") {
			fields := strings.Split(line, "\t")
			if len(fields) < 3 || strings.HasPrefix(line, "#") {
				continue
			}
			v := funcVerdict{allowed: fields[1] == "allow", aggregate: strings.Contains(fields[2], "a"),
				caseInsensitive: strings.Contains(fields[2], "i")}
			if len(fields) > 3 {
				v.aliasTo = fields[3]
			}
			f.byName[fields[0]] = v
			l := strings.ToLower(fields[0])
			f.byLower[l] = append(f.byLower[l], fields[0])
		}
		funcs = f
	})
	return funcs
}

// reason is why a denied function is refused.
func (f *funcTable) reason(name string) string {
	if r, ok := f.reasons[name]; ok {
		return r
	}
	if v, ok := f.byName[name]; ok && v.aliasTo != "" {
		if r, ok := f.reasons[v.aliasTo]; ok {
			return r
		}
	}
	return "is not one mailtrace sql allows"
}

// lookup finds the function a name calls: the exact name, or a
// case-insensitive one written in another case.
func (f *funcTable) lookup(name string) (string, funcVerdict, bool) {
	if v, ok := f.byName[name]; ok {
		return name, v, true
	}
	for _, n := range f.byLower[strings.ToLower(name)] {
		if v := f.byName[n]; v.caseInsensitive {
			return n, v, true
		}
	}
	return "", funcVerdict{}, false
}

// aggregateCombinators are the suffixes that make an aggregate function
// of another (sumIf, uniqArrayMerge), as system.aggregate_function_combinators
// lists them; longer ones first so that OrNull is not read as Null.
var aggregateCombinators = []string{"SimpleState", "OrDefault", "Resample", "Distinct", "ForEach",
	"OrNull", "ArgMax", "ArgMin", "Array", "State", "Merge", "Null", "Map", "If"}

// checkFunction tells whether a query may call a function, and why not.
// Every spelling of a denied function is refused, whatever its case.
func (f *funcTable) checkFunction(name string) (ok bool, reason string) {
	if syntaxFunctions[name] {
		return true, ""
	}
	for _, n := range f.byLower[strings.ToLower(name)] {
		if !f.byName[n].allowed {
			return false, "function " + name + "() " + f.reason(n)
		}
	}
	if _, v, found := f.lookup(name); found {
		if v.allowed {
			return true, ""
		}
		return false, "function " + name + "() " + f.reason(name)
	}
	// An aggregate function with combinators: strip them one by one.
	base := name
	for stripped := true; stripped; {
		stripped = false
		for _, c := range aggregateCombinators {
			if len(base) > len(c) && strings.HasSuffix(base, c) {
				base = strings.TrimSuffix(base, c)
				stripped = true
				if _, v, found := f.lookup(base); found && v.aggregate {
					if v.allowed {
						return true, ""
					}
					return false, "function " + name + "() " + f.reason(base)
				}
				break
			}
		}
	}
	return false, "function " + name + "() is not one mailtrace sql knows; it is not in the engine's list of functions for ClickHouse " + ChdbVersion
}

// checkTableFunction tells whether a query may use a table function.
func (f *funcTable) checkTableFunction(name string) (ok bool, reason string) {
	if allowedTableFunctions[name] {
		return true, ""
	}
	r, known := f.tables[name]
	if !known {
		for n, why := range f.tables {
			if strings.EqualFold(n, name) {
				r, known = why, true
			}
		}
	}
	if !known {
		r = "is not one mailtrace sql allows"
	}
	return false, "table function " + name + "() " + r
}
