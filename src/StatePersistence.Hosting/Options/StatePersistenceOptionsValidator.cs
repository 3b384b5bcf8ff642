using Microsoft.Extensions.Options;
using StatePersistence.Serialization;

namespace StatePersistence.Hosting.Options;

/// <summary>
/// Reports <see cref="StatePersistenceOptions.Validate"/>'s problems at start-up (<c>ValidateOnStart</c>), each
/// prefixed with the configuration section so the message points at the setting to fix. A codec registered in the
/// container is the store's (<c>UseFileSystem</c>, <c>UseInMemory</c>, <c>UsePostgres</c>), so a key source or a
/// <see cref="StatePersistenceOptions.PayloadCodec"/> set beside it is a problem too, and so is a key variable
/// (<c>STATE_ENCRYPTION_KEY_FILE</c>, <c>STATE_ENCRYPTION_KEY</c>) an operator set: the store would drop it without a
/// word (encryption at rest asked for, and the data written through the container's codec alone).
/// </summary>
internal sealed class StatePersistenceOptionsValidator(IPayloadCodec? registeredCodec = null) : IValidateOptions<StatePersistenceOptions>
{
    public ValidateOptionsResult Validate(string? name, StatePersistenceOptions options)
    {
        List<string> problems = [.. options.Validate(), .. BesideTheRegisteredCodec(options)];
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{StatePersistenceHostingDefaults.ConfigurationSection}:{p}"));
    }

    private IEnumerable<string> BesideTheRegisteredCodec(StatePersistenceOptions options)
    {
        if (registeredCodec is null)
        {
            return [];
        }

        string beside = $"and an IPayloadCodec is registered in the container ({registeredCodec.Name}), which the store uses: a store has one codec; set only one.";
        return new (bool IsSet, string Setting)[]
        {
            (options.Encryption.KeyProvider is not null, $"Encryption.KeyProvider is set ({options.Encryption.KeyProvider?.GetType().Name})"),
            (!string.IsNullOrWhiteSpace(options.Encryption.KeyFile), $"Encryption.KeyFile is set ('{options.Encryption.KeyFile}')"),
            (options.PayloadCodec is not null, $"PayloadCodec is set ({options.PayloadCodec?.Name})"),
            (options.Encryption.ResolveKeyVariable() is not null, $"The environment variable {options.Encryption.ResolveKeyVariable()} is set"),
        }.Where(s => s.IsSet).Select(s => $"{s.Setting} {beside}");
    }
}
