//! Name resolution and the user database (Lwt_unix's `getaddrinfo`,
//! `getnameinfo`, `gethostname`, `gethostbyname`, `getlogin`, `getpwnam`).
//! Each runs as a job on a worker thread, since the C library blocks.

use std::io;
use std::net::IpAddr;

use super::socket::{SockAddr, SocketDomain, SocketType};
use super::{job, sys};
use crate::Promise;

/// An option of [`getaddrinfo`] (Lwt's `getaddrinfo_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetAddrInfoOption {
    /// Only this address family.
    AiFamily(SocketDomain),
    /// Only this socket type.
    AiSocktype(SocketType),
    /// Only this protocol.
    AiProtocol(i32),
    /// The host must be a numeric address (no DNS lookup).
    AiNumerichost,
    /// Fill in [`AddrInfo::ai_canonname`].
    AiCanonname,
    /// Addresses for `bind` (the wildcard address when `host` is empty).
    AiPassive,
}

/// One answer of [`getaddrinfo`] (Lwt's `addr_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// Address family.
    pub ai_family: SocketDomain,
    /// Socket type.
    pub ai_socktype: SocketType,
    /// Protocol number.
    pub ai_protocol: i32,
    /// The address.
    pub ai_addr: SockAddr,
    /// The canonical host name (with [`GetAddrInfoOption::AiCanonname`]),
    /// or empty.
    pub ai_canonname: String,
}

/// Resolves a host and a service (name or port number) into socket
/// addresses (Lwt's `getaddrinfo`). An empty host means the local host (or
/// the wildcard address with `AiPassive`); an empty service means port 0.
///
/// Unlike OCaml, which returns `[]`, a failed resolution rejects with an
/// [`Io`](crate::ErrorKind::Io) error saying why.
///
/// ```
/// use lwt::unix::{getaddrinfo, GetAddrInfoOption::*, SocketDomain, SocketType};
/// let p = getaddrinfo("127.0.0.1", "80", &[AiNumerichost, AiSocktype(SocketType::Stream)]);
/// let answers = lwt::main::run(p).unwrap();
/// assert_eq!(answers[0].ai_addr.to_string(), "127.0.0.1:80");
/// assert_eq!(answers[0].ai_family, SocketDomain::Inet);
/// ```
pub fn getaddrinfo(host: &str, service: &str, opts: &[GetAddrInfoOption]) -> Promise<Vec<AddrInfo>> {
    let (mut flags, mut family, mut socktype, mut protocol) = (0, libc::AF_UNSPEC, 0, 0);
    for o in opts {
        match o {
            GetAddrInfoOption::AiFamily(d) => family = d.raw(),
            GetAddrInfoOption::AiSocktype(t) => socktype = t.raw(),
            GetAddrInfoOption::AiProtocol(p) => protocol = *p,
            GetAddrInfoOption::AiNumerichost => flags |= sys::AI_NUMERICHOST,
            GetAddrInfoOption::AiCanonname => flags |= sys::AI_CANONNAME,
            GetAddrInfoOption::AiPassive => flags |= sys::AI_PASSIVE,
        }
    }
    let host = host.to_string();
    let service = service.to_string();
    job(move || sys::getaddrinfo(&host, &service, flags, family, socktype, protocol)).map(|raw| {
        raw.into_iter()
            .filter_map(|a| {
                Some(AddrInfo {
                    ai_family: SocketDomain::of_raw(a.family)?,
                    ai_socktype: SocketType::of_raw(a.socktype)?,
                    ai_protocol: a.protocol,
                    ai_addr: SockAddr::of_raw(a.addr.as_ref()?),
                    ai_canonname: a.canonname.unwrap_or_default(),
                })
            })
            .collect()
    })
}

/// An option of [`getnameinfo`] (Lwt's `getnameinfo_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetNameInfoOption {
    /// Only the host part of a local name.
    NiNofqdn,
    /// The host as a numeric address.
    NiNumerichost,
    /// Fail if the host has no name.
    NiNamereqd,
    /// The service as a port number.
    NiNumericserv,
    /// The service is a datagram one.
    NiDgram,
}

/// A host and a service name (Lwt's `name_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameInfo {
    /// The host name or address.
    pub ni_hostname: String,
    /// The service name or port.
    pub ni_service: String,
}

/// Finds the host and service names of a socket address (Lwt's
/// `getnameinfo`). A Unix-domain address gives its path and an empty
/// service, as OCaml does.
///
/// ```
/// use lwt::unix::{getnameinfo, GetNameInfoOption::*, SockAddr};
/// let a = SockAddr::parse_inet("127.0.0.1:22").unwrap();
/// let ni = lwt::main::run(getnameinfo(&a, &[NiNumerichost, NiNumericserv])).unwrap();
/// assert_eq!((ni.ni_hostname.as_str(), ni.ni_service.as_str()), ("127.0.0.1", "22"));
/// ```
pub fn getnameinfo(addr: &SockAddr, opts: &[GetNameInfoOption]) -> Promise<NameInfo> {
    if let SockAddr::Unix(p) = addr {
        return crate::resolved(NameInfo {
            ni_hostname: p.to_string_lossy().into_owned(),
            ni_service: String::new(),
        });
    }
    let raw = match addr.to_raw() {
        Ok(a) => a,
        Err(e) => return crate::rejected(e),
    };
    let flags = opts.iter().fold(0, |f, o| {
        f | match o {
            GetNameInfoOption::NiNofqdn => sys::NI_NOFQDN,
            GetNameInfoOption::NiNumerichost => sys::NI_NUMERICHOST,
            GetNameInfoOption::NiNamereqd => sys::NI_NAMEREQD,
            GetNameInfoOption::NiNumericserv => sys::NI_NUMERICSERV,
            GetNameInfoOption::NiDgram => sys::NI_DGRAM,
        }
    });
    job(move || sys::getnameinfo(&raw, flags)).map(|(h, s)| NameInfo {
        ni_hostname: h,
        ni_service: s,
    })
}

/// The name of this machine (Lwt's `gethostname`).
pub fn gethostname() -> Promise<String> {
    job(|| sys::gethostname().map(|h| h.to_string_lossy().into_owned()))
}

/// A host-database entry (Lwt's `host_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    /// The canonical name.
    pub h_name: String,
    /// Other names (not reported by `getaddrinfo`; always empty).
    pub h_aliases: Vec<String>,
    /// The address family.
    pub h_addrtype: SocketDomain,
    /// The IPv4 addresses.
    pub h_addr_list: Vec<IpAddr>,
}

/// Looks up a host's IPv4 addresses (Lwt's `gethostbyname`, built on the
/// thread-safe `getaddrinfo`). An unknown host rejects with an
/// [`Io`](crate::ErrorKind::Io) error of kind `NotFound` (OCaml's
/// `Not_found`).
///
/// ```
/// let h = lwt::main::run(lwt::unix::gethostbyname("localhost")).unwrap();
/// assert!(h.h_addr_list.contains(&"127.0.0.1".parse().unwrap()));
/// ```
pub fn gethostbyname(name: &str) -> Promise<HostEntry> {
    let name = name.to_string();
    let n2 = name.clone();
    job(move || {
        sys::getaddrinfo(&n2, "", sys::AI_CANONNAME, libc::AF_INET, libc::SOCK_STREAM, 0).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => e,
            _ => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
        })
    })
    .map(move |raw| {
        let mut addrs: Vec<IpAddr> = Vec::new();
        let mut canon = None;
        for a in raw {
            if canon.is_none() {
                canon = a.canonname.clone();
            }
            if let Some(s) = a.addr.as_ref().and_then(|a| a.as_socket()) {
                if !addrs.contains(&s.ip()) {
                    addrs.push(s.ip());
                }
            }
        }
        HostEntry {
            h_name: canon.unwrap_or(name),
            h_aliases: Vec::new(),
            h_addrtype: SocketDomain::Inet,
            h_addr_list: addrs,
        }
    })
}

/// The login name of the user of the controlling terminal (Lwt's
/// `getlogin`); rejects when there is none (e.g. under a service manager).
pub fn getlogin() -> Promise<String> {
    job(sys::getlogin)
}

/// A password-database entry (Lwt's `passwd_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub pw_name: String,
    /// Encrypted password (usually `x`).
    pub pw_passwd: String,
    /// User id.
    pub pw_uid: u32,
    /// Group id.
    pub pw_gid: u32,
    /// Real name and other information.
    pub pw_gecos: String,
    /// Home directory.
    pub pw_dir: String,
    /// Login shell.
    pub pw_shell: String,
}

/// Looks a user up by name (Lwt's `getpwnam`); an unknown user rejects with
/// an [`Io`](crate::ErrorKind::Io) error of kind `NotFound`.
///
/// ```
/// let root = lwt::main::run(lwt::unix::getpwnam("root")).unwrap();
/// assert_eq!(root.pw_uid, 0);
/// ```
pub fn getpwnam(name: &str) -> Promise<PasswdEntry> {
    let name = name.to_string();
    job(move || {
        let pw = sys::getpwnam(&name)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no user {name:?}")))?;
        let s = |o: std::ffi::OsString| o.to_string_lossy().into_owned();
        Ok(PasswdEntry {
            pw_name: s(pw.name),
            pw_passwd: s(pw.passwd),
            pw_uid: pw.uid,
            pw_gid: pw.gid,
            pw_gecos: s(pw.gecos),
            pw_dir: s(pw.dir),
            pw_shell: s(pw.shell),
        })
    })
}
