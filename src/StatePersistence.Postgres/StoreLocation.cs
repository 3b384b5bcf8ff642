using System.Globalization;
using Npgsql;

namespace StatePersistence.Postgres;

/// <summary>
/// A store's location: what Npgsql connects to, as a URL in libpq's form, then <c>#schema</c>; never a credential. It is
/// the store's one name in messages, health, logs and row paths (<c>…#schema/reports/ID</c>).
/// <list type="bullet">
/// <item>TCP hosts, each with its port (its own in a multi-host string, else <c>Port</c>): <c>postgresql://db1:5432,[::1]:5433/agents#schema</c>.</item>
/// <item>A Unix socket directory (<c>Host=/var/run/postgresql</c>, or a Linux abstract socket, <c>@name</c>) is a path,
/// not a host, so it goes where libpq takes it: <c>postgresql:///agents?host=/var/run/postgresql&amp;port=5432#schema</c>
/// (the port names the socket file, <c>.s.PGSQL.5432</c>); in a multi-host list holding one, every host and port is listed so.</item>
/// <item>A string naming no database is the database Npgsql connects to then, named like the user it logs in as:
/// <c>Username</c>, else <c>PGUSER</c>, else the operating system's user (Npgsql would take a Kerberos ticket's principal
/// before the last, when it finds one: name the database to be sure).</item>
/// </list>
/// </summary>
internal static class StoreLocation
{
    /// <summary>The location of the store in <paramref name="schema"/> over <paramref name="builder"/>'s connection.</summary>
    public static string Of(NpgsqlConnectionStringBuilder builder, string schema)
    {
        List<(string Host, int Port)> endpoints = [.. (builder.Host ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(host => Endpoint(host, builder.Port))];
        string database = Uri.EscapeDataString(DatabaseOf(builder));
        if (endpoints.Exists(e => IsSocket(e.Host)))
        {
            return $"postgresql:///{database}?host={string.Join(',', endpoints.Select(e => e.Host))}&port={string.Join(',', endpoints.Select(e => e.Port))}#{schema}";
        }

        // An IPv6 address is bracketed, as in any URL, so its colons are not read as a port's.
        IEnumerable<string> hosts = endpoints.Select(e => e.Host.Contains(':', StringComparison.Ordinal) ? $"[{e.Host}]:{e.Port}" : $"{e.Host}:{e.Port}");
        return $"postgresql://{string.Join(',', hosts)}/{database}#{schema}";
    }

    /// <summary>The database Npgsql connects to (see the class's summary).</summary>
    private static string DatabaseOf(NpgsqlConnectionStringBuilder builder)
    {
        if (builder.Database is { Length: > 0 } database)
        {
            return database;
        }

        return builder.Username is { Length: > 0 } user ? user
            : Environment.GetEnvironmentVariable("PGUSER") is { Length: > 0 } environmentUser ? environmentUser
            : Environment.UserName;
    }

    /// <summary>
    /// A host as Npgsql reads it: <c>name:port</c> and <c>[v6]:port</c> name their own port, and an address of several
    /// colons without brackets is an IPv6 address, its last group not a port.
    /// </summary>
    private static (string Host, int Port) Endpoint(string host, int port)
    {
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            return close > 0 && host.Length > close + 2 && host[close + 1] == ':' && TryPort(host[(close + 2)..], out int own)
                ? (host[1..close], own)
                : (host.Trim('[', ']'), port);
        }

        int colon = host.LastIndexOf(':');
        return colon > 0 && host.IndexOf(':', StringComparison.Ordinal) == colon && TryPort(host[(colon + 1)..], out int given)
            ? (host[..colon], given)
            : (host, port);
    }

    private static bool TryPort(string text, out int port) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port);

    private static bool IsSocket(string host) => host.StartsWith('/') || host.StartsWith('@');
}
