package dsn

import "strings"

// FML, the Japanese mailing-list manager, refuses a post (most often
// because its sender is not a member) with a notice from the list's
// server, marked by its X-MLServer or List-Software header:
//
//	X-ML-Name: elists
//	X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]
//	Subject: fml rejected your post (not member)
//
//	You are not a member of this mailing list <elists@example.jp>.
//
// The refused recipient is the list; the reason is the notice's words.
var fml = system{
	name: "fml",
	is: func(v *view) bool {
		return strings.Contains(strings.ToLower(v.h.Get("X-MLServer")+v.h.Get("List-Software")), "fml")
	},
	read: func(v *view) []Recipient {
		list := ""
		if as := addrRe.FindAllString(v.low, 10); len(as) > 0 {
			list = as[0]
		}
		if name := strings.TrimSpace(v.h.Get("X-ML-Name")); name != "" {
			if at := strings.LastIndexByte(address(v.from), '@'); at > 0 && !strings.Contains(list, strings.ToLower(name)+"@") {
				list = strings.ToLower(name) + address(v.from)[at:]
			}
		}
		if list == "" {
			return nil
		}
		reason := v.subject
		for _, t := range v.texts {
			for _, l := range strings.Split(string(t), "\n") {
				if l = strings.TrimSpace(l); l != "" && !quoted(strings.ToLower(l)) {
					reason = reason + " " + l
					break
				}
			}
		}
		return []Recipient{{Address: list, Diagnostic: clip(strings.TrimSpace(reason))}}
	},
}
