package webhook

import "github.com/chatbot/chatbot/internal/netguard"

// The address policy lives in internal/netguard so that the website
// crawler uses the very same guard; these names keep webhook's API.
type (
	// AddrPolicy decides which addresses deliveries may connect to.
	AddrPolicy = netguard.AddrPolicy
	// BlockedError is a delivery refused by the address policy.
	BlockedError = netguard.BlockedError
	// Resolver looks up host names; *net.Resolver is one, tests pass a stub.
	Resolver = netguard.Resolver
)

// ParseAllowList reads --allow-outgoing; see netguard.ParseAllowList.
func ParseAllowList(list string) (*AddrPolicy, error) { return netguard.ParseAllowList(list) }

func newSafeDialer(policy *AddrPolicy, resolver Resolver) *netguard.Dialer {
	return netguard.NewDialer(policy, resolver)
}
