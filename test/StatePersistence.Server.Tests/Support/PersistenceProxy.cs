using System.Reflection;
using System.Runtime.ExceptionServices;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// An <see cref="IStatePersistence"/> in front of the server's own, for tests that count or change what a route asks
/// of it: a subclass takes the calls it wants in <see cref="TryIntercept"/>; every other call goes to the real one,
/// whose exceptions come out as it threw them (not wrapped in a <see cref="TargetInvocationException"/>).
/// </summary>
/// <typeparam name="TSelf">The subclass (not sealed: <see cref="DispatchProxy"/> derives from it).</typeparam>
public abstract class PersistenceProxy<TSelf> : DispatchProxy
    where TSelf : PersistenceProxy<TSelf>
{
    /// <summary>The proxy, as the server resolves it.</summary>
    public IStatePersistence Self { get; private set; } = null!;

    /// <summary>The real one behind it.</summary>
    protected IStatePersistence Inner { get; private set; } = null!;

    public static TSelf Over(IStatePersistence inner)
    {
        IStatePersistence proxy = Create<IStatePersistence, TSelf>();
        var typed = (TSelf)(object)proxy;
        typed.Inner = inner;
        typed.Self = proxy;
        return typed;
    }

    /// <summary>Answers a call itself (true, with its result) or leaves it to the real one (false).</summary>
    protected virtual bool TryIntercept(MethodInfo method, object?[] args, out object? result)
    {
        result = null;
        return false;
    }

    /// <summary>The real one's answer to the call.</summary>
    protected object? Forward(MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(Inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is { } thrown)
        {
            ExceptionDispatchInfo.Throw(thrown);
            throw;
        }
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return TryIntercept(targetMethod, args ?? [], out object? result) ? result : Forward(targetMethod, args);
    }
}
