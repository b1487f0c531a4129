namespace KvmUdevAgent.Core.Control;

/// <summary>
/// Who holds the control socket's connection slots (issue 17): at most <c>max</c> in all, of which
/// other users than root together get one fewer, and each of them at most <c>perUid</c>. So a member
/// of <c>control_group</c> who opens connections and keeps them open can never lock root out, nor
/// the group's other members. Thread-safe.
/// </summary>
internal sealed class ControlSlots(int max, int perUid)
{
    private const int ReservedForRoot = 1;
    private readonly Dictionary<uint, int> _byUid = [];
    private int _total;

    /// <summary>Takes a slot for <paramref name="uid"/>; false with the reason to tell the client when none is free for it.</summary>
    public bool TryTake(uint uid, out string refusal)
    {
        lock (_byUid)
        {
            int mine = _byUid.GetValueOrDefault(uid);
            if (_total >= max || (uid != 0 && _total >= max - ReservedForRoot))
            {
                refusal = "too many clients are connected to the daemon; try again";
                return false;
            }

            if (uid != 0 && mine >= perUid)
            {
                refusal = $"uid {uid} has {mine} connections to the daemon open already, the most one user may have; close one and try again";
                return false;
            }

            _byUid[uid] = mine + 1;
            _total++;
            refusal = string.Empty;
            return true;
        }
    }

    /// <summary>Gives back a slot taken by <see cref="TryTake"/>.</summary>
    public void Release(uint uid)
    {
        lock (_byUid)
        {
            _total--;
            if (--_byUid[uid] == 0)
            {
                _byUid.Remove(uid);
            }
        }
    }

    /// <summary>Slots taken now.</summary>
    public int Taken
    {
        get
        {
            lock (_byUid)
            {
                return _total;
            }
        }
    }
}
