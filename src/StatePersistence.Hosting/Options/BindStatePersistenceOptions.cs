using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace StatePersistence.Hosting.Options;

/// <summary>
/// Binds the <c>StatePersistence</c> configuration section. Unlike <c>BindConfiguration</c> it tolerates a
/// container without an <see cref="IConfiguration"/>, so the library also works in a bare <c>ServiceCollection</c>.
/// </summary>
internal sealed class BindStatePersistenceOptions(IConfiguration? configuration = null) : IConfigureOptions<StatePersistenceOptions>
{
    public void Configure(StatePersistenceOptions options) =>
        configuration?.GetSection(StatePersistenceHostingDefaults.ConfigurationSection).Bind(options);
}
