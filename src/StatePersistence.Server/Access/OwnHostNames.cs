using System.Net;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace StatePersistence.Server.Access;

/// <summary>
/// The <c>Host</c> names that are this server's own whatever <c>AllowedHosts</c> lets through (with a key it is
/// <c>*</c> by default): a loopback name, an IP address (a page that rebinds its DNS name to the server has a DNS name:
/// its address is what it rebinds), a name <c>AllowedHosts</c> lists, or no <c>Host</c> at all (no browser sends
/// that). What is served without the key beyond the health status (<c>/health</c>'s details with
/// <c>HealthDetailsWithoutKey</c>, <c>/metrics</c> with <c>MetricsWithoutKey</c>) is served only under these, so that a
/// rebinding page cannot read it through the operator's browser.
/// </summary>
internal sealed class OwnHostNames(IOptions<HostFilteringOptions> hosts)
{
    private readonly List<StringSegment> _names =
        [.. HostAccess.Loopback.Concat(hosts.Value.AllowedHosts).Where(name => name != "*").Select(name => new StringSegment(name))];

    public bool Contains(HostString host) =>
        !host.HasValue
        || IPAddress.TryParse(host.Host.Trim('[', ']'), out _)
        || HostString.MatchesAny(new StringSegment(host.Host), _names);
}
