using System.Collections;
using System.Reflection;
using StatePersistence.Hosting;
using StatePersistence.Hosting.HealthChecks;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Finds the keys under <c>StatePersistence</c> that no setting of the server reads. The configuration binder ignores
/// them, so a misspelt key (<c>StatePersistence:SnapshotOnShutdwn</c>, <c>StatePersistence__Durabilty</c>) would leave
/// its default in force without a word; the start is refused instead, naming the key and the setting it was likely
/// meant to be. Keys are compared as the binder compares them: without regard to case.
/// </summary>
internal static class UnknownSettings
{
    private const string Root = StatePersistenceHostingDefaults.ConfigurationSection;

    /// <summary>The settings the server reads under <see cref="Root"/>, as a tree of key paths.</summary>
    private static readonly Node Known = BuildKnown();

    /// <summary>One problem per key under <c>StatePersistence</c> that is not a setting, in the configuration's order.</summary>
    public static IEnumerable<string> Find(IConfiguration configuration)
    {
        var problems = new List<string>();
        Walk(configuration.GetSection(Root), Known, Root, problems);
        return problems;
    }

    private static void Walk(IConfigurationSection section, Node known, string path, List<string> problems)
    {
        if (known.AnyChild)
        {
            return;
        }

        foreach (IConfigurationSection child in section.GetChildren())
        {
            string childPath = path + ":" + child.Key;
            if (!known.Children.TryGetValue(child.Key, out Node? node))
            {
                problems.Add(Describe(childPath, path, child.Key, known));
                continue;
            }

            Walk(child, node, childPath, problems);
        }
    }

    private static string Describe(string childPath, string parentPath, string key, Node parent)
    {
        string? closest = parent.Children.Keys
            .Select(name => (Name: name, Distance: EditDistance(key.ToUpperInvariant(), name.ToUpperInvariant())))
            .Where(c => c.Distance <= Math.Max(2, key.Length / 4))
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
        string hint = closest is null
            ? $"the settings under {parentPath} are {string.Join(", ", parent.Children.Keys.Order(StringComparer.Ordinal))}"
            : $"did you mean {parentPath}:{closest}?";
        return $"{childPath} is not a setting of this server ({hint}); a misspelt setting would be ignored and its default used. " +
            "Correct or remove it (in appsettings.json, an environment variable with __ for :, or the command line).";
    }

    private static Node BuildKnown()
    {
        Node root = Of(typeof(StatePersistenceOptions));
        root.Children["HealthCheck"] = Of(typeof(StatePersistenceHealthCheckOptions));
        Node server = Of(typeof(StateServerOptions));
        server.Children["Quotas"] = Of(typeof(Quotas.QuotaOptions));
        root.Children["Server"] = server;

        // Read by name rather than bound (StoreSettings).
        foreach (string key in new[] { StoreSettings.StoreKey, StoreSettings.ConnectionStringKey, StoreSettings.SchemaKey, StoreSettings.ChangeRetentionKey })
        {
            Node node = root;
            foreach (string part in key.Split(':').Skip(1))
            {
                node = node.Children.TryGetValue(part, out Node? next) ? next : node.Children[part] = new Node(AnyChild: false);
            }
        }

        return root;
    }

    /// <summary>The keys the binder would set on an instance of <paramref name="type"/>: the tree of its bindable properties.</summary>
    private static Node Of(Type type)
    {
        var node = new Node(AnyChild: false);
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            Type propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            bool settable = property.SetMethod is { IsPublic: true };
            if (IsValue(propertyType))
            {
                if (settable)
                {
                    node.Children[property.Name] = new Node(AnyChild: false);
                }
            }
            else if (typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                // A list or a dictionary: its keys are the entries' indexes or names, the user's to choose.
                node.Children[property.Name] = new Node(AnyChild: true);
            }
            else if (propertyType.IsClass && !typeof(Delegate).IsAssignableFrom(propertyType) && propertyType != typeof(object))
            {
                // A nested options object (Encryption, Retention): the binder fills the instance the getter returns.
                node.Children[property.Name] = Of(propertyType);
            }

            // Interfaces and delegates (a codec, a merge callback) are code, not configuration: not settings.
        }

        return node;
    }

    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) ||
        type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);

    private static int EditDistance(string a, string b)
    {
        int[] previous = Enumerable.Range(0, b.Length + 1).ToArray();
        int[] current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>A key of the tree: its known children (case-insensitive, as configuration keys are), or any at all.</summary>
    private sealed record Node(bool AnyChild)
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.OrdinalIgnoreCase);
    }
}
