using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations.NodeImport;
using StatePersistence.Model;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// The ordered migrations of the state directory's format, each from version N to the next, ending at
/// <see cref="StateFormat.CurrentVersion"/>. A format change ships as a new step here, never as a reader that
/// reinterprets old files in place.
/// </summary>
internal sealed class MigrationChain
{
    /// <summary>The product's chain: the import of the original Node implementation's directory (1.0.0 to 2.1.0).</summary>
    public static MigrationChain Default { get; } = new([new NodeImportMigration()]);

    private readonly IReadOnlyList<StateMigration> _steps;

    /// <summary>Creates a chain; the steps must follow each other and end at the current version.</summary>
    public MigrationChain(IReadOnlyList<StateMigration> steps)
    {
        for (int i = 0; i < steps.Count; i++)
        {
            string expectedTo = i + 1 < steps.Count ? steps[i + 1].From : StateFormat.CurrentVersion;
            if (steps[i].To != expectedTo)
            {
                throw new ArgumentException($"Migration {steps[i].From} to {steps[i].To} is followed by {expectedTo}: the chain has a gap.", nameof(steps));
            }
        }

        _steps = steps;
    }

    /// <summary>Every step, oldest first.</summary>
    public IReadOnlyList<StateMigration> Steps => _steps;

    /// <summary>
    /// The steps that bring a directory of <paramref name="version"/> to the current version: none for a directory of
    /// the current major version (its minor versions are read as they are). Throws when no step starts there.
    /// </summary>
    public IReadOnlyList<StateMigration> From(string version, string path)
    {
        if (FormatVersion.Major(version) == FormatVersion.Major(StateFormat.CurrentVersion))
        {
            return [];
        }

        int first = -1;
        for (int i = 0; i < _steps.Count && first < 0; i++)
        {
            first = _steps[i].From == version ? i : -1;
        }

        return first >= 0
            ? [.. _steps.Skip(first)]
            : throw new StateFormatException(
                $"'{path}' has format version {version}, and no migration starts there (this build writes {StateFormat.CurrentVersion} "
                + $"and migrates from {string.Join(", ", _steps.Select(s => s.From))}). Nothing was changed.", path);
    }
}
