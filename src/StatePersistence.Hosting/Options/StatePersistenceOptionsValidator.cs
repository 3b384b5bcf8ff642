using Microsoft.Extensions.Options;

namespace StatePersistence.Hosting.Options;

/// <summary>
/// Reports <see cref="StatePersistenceOptions.Validate"/>'s problems at start-up (<c>ValidateOnStart</c>), each
/// prefixed with the configuration section so the message points at the setting to fix.
/// </summary>
internal sealed class StatePersistenceOptionsValidator : IValidateOptions<StatePersistenceOptions>
{
    public ValidateOptionsResult Validate(string? name, StatePersistenceOptions options)
    {
        IReadOnlyList<string> problems = options.Validate();
        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{StatePersistenceHostingDefaults.ConfigurationSection}:{p}"));
    }
}
